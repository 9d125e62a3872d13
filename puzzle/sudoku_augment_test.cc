#include "puzzle/sudoku_augment.h"

#include <gtest/gtest.h>

#include "puzzle/sudoku_solver.h"

namespace trm::puzzle {
namespace {

constexpr char kPuzzle[] =
    "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........";

TEST(SudokuShuffle, DefaultIsIdentity) {
  auto puzzle = *ParseSudoku(kPuzzle);
  EXPECT_EQ(SudokuShuffle{}.Apply(puzzle), puzzle);
}

TEST(SudokuShuffle, TransposeOnly) {
  auto puzzle = *ParseSudoku(kPuzzle);
  SudokuShuffle t;
  t.transpose = true;
  auto out = t.Apply(puzzle);
  for (int r = 0; r < 9; ++r) {
    for (int c = 0; c < 9; ++c) EXPECT_EQ(out.at(r, c), puzzle.at(c, r));
  }
  EXPECT_EQ(t.Apply(out), puzzle);
}

TEST(SudokuShuffle, RandomShufflesKeepPuzzleAndSolutionConsistent) {
  auto puzzle = *ParseSudoku(kPuzzle);
  auto solution = SolveSudoku(puzzle).solution;
  std::mt19937_64 rng(7);
  int differing = 0;
  for (int i = 0; i < 200; ++i) {
    SudokuShuffle s = RandomSudokuShuffle(rng);
    EXPECT_EQ(s.digits[0], 0);
    auto p = s.Apply(puzzle);
    auto a = s.Apply(solution);
    EXPECT_EQ(p.givens(), puzzle.givens());
    ASSERT_TRUE(ValidateSudoku(p).ok());
    ASSERT_TRUE(VerifySudokuAnswer(p, a).ok()) << VerifySudokuAnswer(p, a).error().message;
    auto solved = SolveSudoku(p);
    ASSERT_TRUE(solved.unique());
    EXPECT_EQ(solved.solution, a);
    differing += p != puzzle;
    // Bands stay bands: row_order keeps rows of one band together.
    for (int b = 0; b < 3; ++b) {
      EXPECT_EQ(s.row_order[b * 3] / 3, s.row_order[b * 3 + 2] / 3);
      EXPECT_EQ(s.col_order[b * 3] / 3, s.col_order[b * 3 + 1] / 3);
    }
  }
  EXPECT_GT(differing, 190);
}

}  // namespace
}  // namespace trm::puzzle
