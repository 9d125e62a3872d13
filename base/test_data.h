// Where tests find their data files.
//
// tests/data (in the checkout) holds what the project makes itself: a small Sudoku set with known
// solutions and generated ARC tasks, so the codecs are tested on any clone. The shared/ folder
// beside the checkout (parity vectors from the official code, the real ARC and Sudoku
// collections) is ours alone: a user's clone has none of it. A test that needs it skips, naming
// the file it misses; where the shared folder is meant to be there (CI: .ci/run sets
// TRM_REQUIRE_SHARED=1 when it finds one) the same test fails instead, so nothing is skipped
// silently.
//
//   TRM_SHARED_DIR      the shared folder (default: the build's ../shared, else ../shared)
//   TRM_TEST_DATA_DIR   tests/data (default: the source tree's)
//   TRM_REQUIRE_SHARED  1: a missing shared file is a failure, not a skip
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace trm::test_data {

inline std::filesystem::path EnvPath(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value && *value) ? value : fallback;
}

// The build's defaults (base/CMakeLists.txt, trm_test_data); a test built by hand gets these.
#ifndef TRM_DEFAULT_SHARED_DIR
#define TRM_DEFAULT_SHARED_DIR "../shared"
#endif
#ifndef TRM_DEFAULT_TEST_DATA_DIR
#define TRM_DEFAULT_TEST_DATA_DIR "tests/data"
#endif

inline std::filesystem::path SharedDir() {
  return EnvPath("TRM_SHARED_DIR", TRM_DEFAULT_SHARED_DIR);
}
inline std::filesystem::path TestDataDir() {
  return EnvPath("TRM_TEST_DATA_DIR", TRM_DEFAULT_TEST_DATA_DIR);
}

inline bool SharedRequired() {
  const char* value = std::getenv("TRM_REQUIRE_SHARED");
  return value && std::string(value) == "1";
}

// Empty when `path` exists; otherwise what is missing and where it was looked for.
inline std::string MissingSharedFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return "";
  return "needs " + path.string() +
         " from the shared folder beside the checkout (TRM_SHARED_DIR); a clone without it "
         "skips this test";
}

}  // namespace trm::test_data

// In a test body: skip (or, with TRM_REQUIRE_SHARED=1, fail) unless `path` exists.
#define TRM_SKIP_WITHOUT_SHARED(path)                                                 \
  do {                                                                                \
    const std::string trm_missing_ = ::trm::test_data::MissingSharedFile(path);       \
    if (!trm_missing_.empty()) {                                                      \
      if (::trm::test_data::SharedRequired()) {                                       \
        FAIL() << trm_missing_ << ", and TRM_REQUIRE_SHARED=1 says it must be there"; \
      }                                                                               \
      GTEST_SKIP() << trm_missing_;                                                   \
    }                                                                                 \
  } while (0)
