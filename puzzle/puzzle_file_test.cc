#include "puzzle/puzzle_file.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace trm::puzzle {
namespace {

TEST(PuzzleFile, SudokuLinesSkipCommentsAndBlanks) {
  auto records = SplitSudokuFile("# header\n#\n\n1.3\r\n   \n4..\n# tail\n7..");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].line, 4);
  EXPECT_EQ(records[0].text, "1.3");
  EXPECT_EQ(records[1].line, 6);
  EXPECT_EQ(records[2].line, 8);
  EXPECT_EQ(records[2].text, "7..");
  EXPECT_TRUE(SplitSudokuFile("").empty());
}

TEST(PuzzleFile, MazeBlocks) {
  auto records = SplitMazeFile("// two mazes\n\n###\n#SG\n###\n\n\n#S#\r\n   \n#G#\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].line, 3);
  EXPECT_EQ(records[0].text, "###\n#SG\n###");
  EXPECT_EQ(records[1].line, 8);
  EXPECT_EQ(records[1].text, "#S#\n   \n#G#");  // A row of spaces is a maze row.
  EXPECT_TRUE(SplitMazeFile("\n\n").empty());
}

TEST(PuzzleFile, ReadWriteAndErrors) {
  auto path =
      (std::filesystem::temp_directory_path() / ("puzzle_file_test_" + std::to_string(::getpid())))
          .string();
  ASSERT_TRUE(WriteTextFile(path, "abc\n").ok());
  EXPECT_EQ(*ReadTextFile(path), "abc\n");
  std::filesystem::remove(path);
  EXPECT_EQ(ReadTextFile("/nonexistent/file").error().message,
            "cannot read /nonexistent/file: No such file or directory");
  EXPECT_EQ(WriteTextFile("/nonexistent/file", "x").error().message,
            "cannot write /nonexistent/file: No such file or directory");
}

}  // namespace
}  // namespace trm::puzzle
