#include "bench/eval_set.h"

#include <gtest/gtest.h>

#include <fstream>

#include "puzzle/sudoku.h"

namespace trm::bench {
namespace {

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(ReadPuzzleFile, SudokuLabelsAreTheUniqueSolutions) {
  const std::string path = WriteFile(
      "s.txt",
      "# comment\n"
      "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........\n"
      "7.8...3.....2.1...5.........4.....263...8.......1...9..9.6....4....7.5...........\n");
  auto ex = ReadPuzzleFile(path, "sudoku", 30, 0);
  ASSERT_TRUE(ex.ok()) << ex.status();
  ASSERT_EQ(ex->size(), 2u);
  EXPECT_EQ((*ex)[0].name, path + ":2");
  auto puzzle = puzzle::SudokuFromTokens((*ex)[0].input);
  auto answer = puzzle::SudokuFromTokens((*ex)[0].label);
  ASSERT_TRUE(puzzle && answer);
  EXPECT_TRUE(puzzle::VerifySudokuAnswer(*puzzle, *answer).ok());
  EXPECT_EQ(ReadPuzzleFile(path, "sudoku", 30, 1)->size(), 1u);
}

TEST(ReadPuzzleFile, ErrorsNameTheLine) {
  const std::string path = WriteFile("bad.txt", "# x\n\n4..x\n");
  auto ex = ReadPuzzleFile(path, "sudoku", 30, 0);
  ASSERT_FALSE(ex.ok());
  EXPECT_NE(ex.status().message().find(path + ":3"), std::string::npos) << ex.status();
  // Two solutions: an empty grid.
  const std::string empty = WriteFile("empty.txt", std::string(81, '.').append("\n"));
  EXPECT_NE(ReadPuzzleFile(empty, "sudoku", 30, 0).status().message().find("solutions"),
            std::string::npos);
  EXPECT_FALSE(ReadPuzzleFile("/nonexistent.txt", "sudoku", 30, 0).ok());
  EXPECT_FALSE(ReadPuzzleFile(path, "arc", 30, 0).ok());
}

TEST(ReadPuzzleFile, MazeWithAndWithoutPath) {
  const std::string path = WriteFile("m.txt",
                                     "#####\n"
                                     "#S  #\n"
                                     "### #\n"
                                     "#G  #\n"
                                     "#####\n"
                                     "\n"
                                     "#####\n"
                                     "#Soo#\n"
                                     "###o#\n"
                                     "#Goo#\n"
                                     "#####\n");
  auto ex = ReadPuzzleFile(path, "maze", 6, 0);
  ASSERT_TRUE(ex.ok()) << ex.status();
  ASSERT_EQ(ex->size(), 2u);
  EXPECT_EQ((*ex)[0].input.size(), 36u);
  EXPECT_EQ((*ex)[0].input, (*ex)[1].input);  // The path is removed from the question.
  EXPECT_EQ((*ex)[0].label, (*ex)[1].label);  // The solver finds the same (only) path.
  EXPECT_NE((*ex)[0].input, (*ex)[0].label);
  EXPECT_EQ((*ex)[0].maze_rows, 5);
}

}  // namespace
}  // namespace trm::bench
