#include "server/checkpoint_dirs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace trm::server {
namespace {
namespace fs = std::filesystem;

class CheckpointDirsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("trm_ckpt_test_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    for (const char* name : {"sudoku", "maze"}) {
      fs::create_directories(root_ / name);
      std::ofstream(root_ / name / "config.json") << "{}";
    }
    fs::create_directories(root_ / "not_a_model");
    std::ofstream(root_ / "official.pt") << "x";
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(CheckpointDirsTest, FolderOfModelsExpandsSortedSkippingNonModels) {
  auto specs = ExpandCheckpoints({root_.string()});
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[0].name, "maze");
  EXPECT_EQ((*specs)[1].name, "sudoku");
  EXPECT_EQ((*specs)[1].path, (root_ / "sudoku").string());
}

TEST_F(CheckpointDirsTest, ModelFolderPtFileAndExplicitName) {
  auto specs = ExpandCheckpoints({(root_ / "sudoku").string(), (root_ / "official.pt").string(),
                                  "hard=" + (root_ / "maze").string()});
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[0].name, "sudoku");
  EXPECT_EQ((*specs)[1].name, "official");
  EXPECT_EQ((*specs)[2].name, "hard");
}

TEST_F(CheckpointDirsTest, ErrorsNameTheEntry) {
  auto missing = ExpandCheckpoints({(root_ / "nope").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope does not exist"), std::string::npos);
  auto dup =
      ExpandCheckpoints({(root_ / "sudoku").string(), "sudoku=" + (root_ / "maze").string()});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("\"sudoku\" is used by"), std::string::npos);
  auto named_folder = ExpandCheckpoints({"x=" + (root_ / "not_a_model").string()});
  EXPECT_FALSE(named_folder.ok());
}

TEST_F(CheckpointDirsTest, DefaultRootsAreModelParentsAndFoldersOfModels) {
  fs::create_directories(root_ / "elsewhere" / "v2");
  std::ofstream(root_ / "elsewhere" / "v2" / "config.json") << "{}";
  EXPECT_EQ(DefaultCheckpointRoots({root_.string(), (root_ / "sudoku").string(),
                                    "hard=" + (root_ / "elsewhere" / "v2").string(),
                                    (root_ / "official.pt").string(), (root_ / "nope").string()}),
            (std::vector<std::string>{root_.string(), (root_ / "elsewhere").string()}));
  EXPECT_TRUE(DefaultCheckpointRoots({}).empty());
}

TEST_F(CheckpointDirsTest, CanonicalRootsResolveAndNameTheBadOne) {
  fs::create_symlink(root_, root_.string() + "_link");
  auto roots = CanonicalRoots({root_.string() + "_link/", root_.string(), ""});
  ASSERT_TRUE(roots.ok()) << roots.status();
  EXPECT_EQ(*roots, std::vector<std::string>{fs::canonical(root_).string()});
  fs::remove(root_.string() + "_link");
  auto missing = CanonicalRoots({(root_ / "nope").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "--checkpoint_roots: " + (root_ / "nope").string() + " does not exist");
  auto file = CanonicalRoots({(root_ / "official.pt").string()});
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("is not a directory"), std::string::npos);
}

class ConfineTest : public CheckpointDirsTest {
 protected:
  void SetUp() override {
    CheckpointDirsTest::SetUp();
    outside_ = root_.string() + "_outside";
    fs::create_directories(outside_ / "secret");
    std::ofstream(outside_ / "secret" / "config.json") << "{}";
    fs::create_directories(root_.string() + "_evil");
    auto roots = CanonicalRoots({root_.string()});
    ASSERT_TRUE(roots.ok()) << roots.status();
    roots_ = *roots;
  }
  void TearDown() override {
    fs::remove_all(outside_);
    fs::remove_all(root_.string() + "_evil");
    CheckpointDirsTest::TearDown();
  }
  void ExpectDenied(const std::string& path) {
    auto confined = ConfineToRoots(path, roots_);
    ASSERT_FALSE(confined.ok()) << path << " -> " << *confined;
    EXPECT_EQ(confined.status().code(), absl::StatusCode::kPermissionDenied);
    // The message names the path and the roots.
    EXPECT_NE(confined.status().message().find("checkpoint_path " + path), std::string::npos)
        << confined.status();
    EXPECT_NE(confined.status().message().find("[" + roots_[0] + "]"), std::string::npos)
        << confined.status();
  }
  fs::path outside_;
  std::vector<std::string> roots_;
};

TEST_F(ConfineTest, InsideAccepted) {
  for (const fs::path& p : {root_ / "sudoku", root_ / "official.pt", root_ / "missing_model", root_,
                            root_ / "maze" / ".." / "sudoku"}) {
    auto confined = ConfineToRoots(p.string(), roots_);
    ASSERT_TRUE(confined.ok()) << p << ": " << confined.status();
    EXPECT_EQ(*confined, fs::weakly_canonical(p).string());
  }
  // A symlink inside the root to a model inside it is fine; what is loaded is its target.
  fs::create_symlink(root_ / "sudoku", root_ / "current");
  auto confined = ConfineToRoots((root_ / "current").string(), roots_);
  ASSERT_TRUE(confined.ok()) << confined.status();
  EXPECT_EQ(*confined, fs::canonical(root_ / "sudoku").string());
}

TEST_F(ConfineTest, DotDotEscapeRefused) {
  ExpectDenied((root_ / ".." / outside_.filename() / "secret").string());
  ExpectDenied((root_ / "sudoku" / ".." / ".." / outside_.filename() / "secret").string());
  // Through a folder that does not exist, too (weakly_canonical normalizes the rest).
  ExpectDenied((root_ / "missing" / ".." / ".." / outside_.filename() / "secret").string());
  ExpectDenied((root_ / "..").string());
}

TEST_F(ConfineTest, SymlinkEscapeRefused) {
  fs::create_symlink(outside_ / "secret", root_ / "link_to_secret");
  fs::create_directory_symlink(outside_, root_ / "link_to_outside");
  ExpectDenied((root_ / "link_to_secret").string());
  ExpectDenied((root_ / "link_to_outside" / "secret").string());
  ExpectDenied((root_ / "link_to_outside" / "new").string());
}

TEST_F(ConfineTest, AbsolutePathOutsideRefused) {
  ExpectDenied((outside_ / "secret").string());
  ExpectDenied("/etc/passwd");
  ExpectDenied("/");
  // A sibling whose name starts with the root's is not inside it.
  ExpectDenied(root_.string() + "_evil");
  ExpectDenied(std::string("relative/path"));
  EXPECT_EQ(ConfineToRoots("", roots_).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ConfineToRoots(root_.string() + std::string("\0/../x", 6), roots_).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(ConfineTest, NoRootsRefuseEverything) {
  auto confined = ConfineToRoots((root_ / "sudoku").string(), {});
  EXPECT_EQ(confined.status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace trm::server
