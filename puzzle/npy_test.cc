#include "puzzle/npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "puzzle/puzzle_file.h"

namespace trm::puzzle {
namespace {

std::string TempDir() {
  auto dir = std::filesystem::temp_directory_path() / ("npy_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string RunCommand(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n;
  while (pipe && (n = fread(buf, 1, sizeof(buf), pipe.get())) > 0) out.append(buf, n);
  return out;
}

TEST(Npy, HeaderIsAlignedAndRoundTrips) {
  NpyArray a{NpyDtype::kInt32, {2, 3}, {1, -2, 3, 2147483647, -2147483648LL, 0}};
  auto bytes = EncodeNpy(a);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->substr(0, 6), "\x93NUMPY");
  size_t header_len =
      static_cast<unsigned char>((*bytes)[8]) | (static_cast<unsigned char>((*bytes)[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ((*bytes)[10 + header_len - 1], '\n');
  auto back = DecodeNpy(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->dtype, NpyDtype::kInt32);
  EXPECT_EQ(back->shape, a.shape);
  EXPECT_EQ(back->values, a.values);
  for (NpyDtype d : {NpyDtype::kUInt8, NpyDtype::kInt8, NpyDtype::kInt16, NpyDtype::kUInt16,
                     NpyDtype::kUInt32, NpyDtype::kInt64}) {
    NpyArray b{d, {4}, {0, 1, 7, 100}};
    auto r = DecodeNpy(*EncodeNpy(b));
    ASSERT_TRUE(r.ok()) << NpyDescr(d);
    EXPECT_EQ(r->values, b.values);
    EXPECT_EQ(r->dtype, d);
  }
  NpyArray scalar{NpyDtype::kInt64, {}, {-5}};
  EXPECT_EQ(DecodeNpy(*EncodeNpy(scalar))->values, std::vector<int64_t>{-5});
  NpyArray empty{NpyDtype::kInt32, {0, 81}, {}};
  EXPECT_EQ(DecodeNpy(*EncodeNpy(empty))->shape, (std::vector<int64_t>{0, 81}));
}

TEST(Npy, EncodeErrors) {
  EXPECT_EQ(EncodeNpy({NpyDtype::kUInt8, {3}, {1, 300, 2}}).error().message,
            "npy: value 300 at index 1 does not fit |u1");
  EXPECT_EQ(EncodeNpy({NpyDtype::kInt32, {2, 2}, {1, 2, 3}}).error().message,
            "npy: shape (2, 2) needs 4 values, got 3");
  EXPECT_EQ(WriteNpy("/nonexistent-dir/x.npy", {NpyDtype::kInt32, {1}, {1}}).error().message,
            "npy: cannot write /nonexistent-dir/x.npy: No such file or directory");
}

TEST(Npy, DecodeErrors) {
  EXPECT_EQ(DecodeNpy("hello").error().message, "npy: bad magic");
  std::string good = *EncodeNpy({NpyDtype::kInt32, {4, 4}, std::vector<int64_t>(16, 1)});
  EXPECT_EQ(DecodeNpy(good.substr(0, good.size() - 52)).error().message,
            "npy: data has 12 bytes, shape (4, 4) of <i4 needs 64");
  std::string f4 = good;
  f4.replace(f4.find("<i4"), 3, "<f4");
  EXPECT_EQ(DecodeNpy(f4).error().message, "npy: unsupported dtype '<f4'");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_EQ(DecodeNpy(fortran).error().message, "npy: Fortran order is not supported");
  std::string v9 = good;
  v9[6] = 9;
  EXPECT_EQ(DecodeNpy(v9).error().message, "npy: unsupported version 9");
  EXPECT_EQ(ReadNpy("/nonexistent.npy").error().message,
            "npy: cannot read /nonexistent.npy: No such file or directory");
}

// numpy loads what we write, and we load what numpy writes.
TEST(Npy, InteroperatesWithNumpy) {
  std::string dir = TempDir();
  ASSERT_TRUE(
      WriteNpy(dir + "/ours_u1.npy", {NpyDtype::kUInt8, {2, 3}, {0, 1, 2, 3, 4, 255}}).ok());
  ASSERT_TRUE(WriteNpy(dir + "/ours_i4.npy", {NpyDtype::kInt32, {3}, {0, -7, 123456}}).ok());
  std::string out = RunCommand(
      "/usr/bin/python3 -c \"import numpy as np, sys\n"
      "a = np.load('" +
      dir + "/ours_u1.npy'); b = np.load('" + dir +
      "/ours_i4.npy')\n"
      "print(a.dtype, a.shape, a.tolist(), b.dtype, b.shape, b.tolist())\n"
      "np.save('" +
      dir +
      "/theirs_i8.npy', np.arange(-3, 9, dtype=np.int64).reshape(3, 4))\n"
      "np.save('" +
      dir +
      "/theirs_u1.npy', np.array([[5, 6]], dtype=np.uint8))\n"
      "np.save('" +
      dir +
      "/theirs_i4.npy', np.array([1, -1], dtype='>i4'))\n"
      "np.save('" +
      dir + "/theirs_b.npy', np.array([True, False]))\n\" 2>&1");
  EXPECT_EQ(out, "uint8 (2, 3) [[0, 1, 2], [3, 4, 255]] int32 (3,) [0, -7, 123456]\n");
  auto i8 = ReadNpy(dir + "/theirs_i8.npy");
  ASSERT_TRUE(i8.ok()) << i8.error().message;
  EXPECT_EQ(i8->shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(i8->values.front(), -3);
  EXPECT_EQ(i8->values.back(), 8);
  auto u1 = ReadNpy(dir + "/theirs_u1.npy");
  ASSERT_TRUE(u1.ok());
  EXPECT_EQ(u1->values, (std::vector<int64_t>{5, 6}));
  auto be = ReadNpy(dir + "/theirs_i4.npy");
  ASSERT_TRUE(be.ok()) << be.error().message;
  EXPECT_EQ(be->values, (std::vector<int64_t>{1, -1}));
  auto b = ReadNpy(dir + "/theirs_b.npy");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->values, (std::vector<int64_t>{1, 0}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trm::puzzle
