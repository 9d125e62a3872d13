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

TEST(EvalMetrics, ExactCellsHaltingSteps) {
  EvalExample e;
  e.label = {1, 2, kIgnore, 4};
  EvalMetrics m;
  m.Add(e, {1, 2, 9, 4}, 0.9f, 3);  // Exact (ignored cell not scored), confident: halt right.
  m.Add(e, {1, 0, 0, 4}, 0.9f, 5);  // Wrong, confident: halt wrong.
  m.Add(e, {0, 0, 0, 0}, 0.1f, 5);  // Wrong, not confident: halt right.
  EXPECT_EQ(m.examples, 3);
  EXPECT_DOUBLE_EQ(m.exact_accuracy(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.cell_accuracy(), 5.0 / 9);
  EXPECT_DOUBLE_EQ(m.halt_accuracy(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.mean_steps(), 13.0 / 3);
  EXPECT_EQ(m.steps_histogram.at(5), 2);
  EXPECT_DOUBLE_EQ(m.halt_precision(), 1.0 / 2);  // Vouched for two, one of them exact.
  EXPECT_DOUBLE_EQ(m.confident_share(), 2.0 / 3);
}

TEST(EvalMetrics, HaltingFiguresFollowTheThreshold) {
  EvalExample e;
  e.label = {1, 2};
  EvalMetrics m;
  m.halt_threshold = 0.95f;
  m.Add(e, {1, 2}, 0.99f, 2);  // Exact and vouched for.
  m.Add(e, {1, 0}, 0.9f, 8);   // Wrong; 0.9 would vouch at 0.5, not at 0.95.
  m.Add(e, {1, 2}, 0.9f, 8);   // Exact but not vouched for: a halting miss.
  EXPECT_DOUBLE_EQ(m.halt_accuracy(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.halt_precision(), 1.0);
  EXPECT_DOUBLE_EQ(m.confident_share(), 1.0 / 3);
}

TEST(EvalMetrics, NoConfidentAnswersMeansNoPrecision) {
  EvalExample e;
  e.label = {1};
  EvalMetrics m;
  m.Add(e, {1}, 0.2f, 8);
  EXPECT_DOUBLE_EQ(m.halt_precision(), 0);
  EXPECT_DOUBLE_EQ(m.confident_share(), 0);
}

}  // namespace
}  // namespace trm::bench
