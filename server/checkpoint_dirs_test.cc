#include "server/checkpoint_dirs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace trm::server
