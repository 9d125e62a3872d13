#include "puzzle/sudoku_generator.h"

#include <gtest/gtest.h>

#include "puzzle/sudoku_solver.h"

namespace trm::puzzle {
namespace {

TEST(RandomSudokuSolution, IsACompleteValidGrid) {
  std::mt19937_64 rng(1);
  auto a = RandomSudokuSolution(rng);
  auto b = RandomSudokuSolution(rng);
  EXPECT_TRUE(VerifySudokuAnswer(SudokuGrid{}, a).ok());
  EXPECT_TRUE(VerifySudokuAnswer(SudokuGrid{}, b).ok());
  EXPECT_NE(a, b);
}

TEST(SudokuGenerator, PuzzlesAreUniqueAndWithinTheGivensBand) {
  SudokuGenerator gen({.seed = 3, .min_givens = 24, .max_givens = 30});
  for (int i = 0; i < 20; ++i) {
    auto g = gen.Next();
    ASSERT_TRUE(g.ok()) << g.error().message;
    ASSERT_TRUE(ValidateSudoku(g->puzzle).ok());
    EXPECT_GE(g->puzzle.givens(), 24);
    EXPECT_LE(g->puzzle.givens(), 30);
    auto solved = SolveSudoku(g->puzzle);
    ASSERT_TRUE(solved.unique());
    EXPECT_EQ(solved.solution, g->solution);
    EXPECT_EQ(solved.guesses, g->guesses);
    EXPECT_TRUE(VerifySudokuAnswer(g->puzzle, g->solution).ok());
  }
}

TEST(SudokuGenerator, HardBandNeedsSearch) {
  SudokuGenerator gen({.seed = 5, .min_givens = 17, .max_givens = 26, .min_guesses = 3});
  for (int i = 0; i < 5; ++i) {
    auto g = gen.Next();
    ASSERT_TRUE(g.ok()) << g.error().message;
    auto solved = SolveSudoku(g->puzzle);
    EXPECT_TRUE(solved.unique());
    EXPECT_GE(solved.guesses, 3);
  }
}

TEST(SudokuGenerator, EasyBandNeedsNoSearch) {
  SudokuGenerator gen({.seed = 9, .min_givens = 30, .max_givens = 40, .max_guesses = 0});
  for (int i = 0; i < 5; ++i) {
    auto g = gen.Next();
    ASSERT_TRUE(g.ok()) << g.error().message;
    EXPECT_EQ(SolveSudoku(g->puzzle).guesses, 0);
  }
}

TEST(SudokuGenerator, SameSeedSameSequence) {
  SudokuGenerator a({.seed = 11}), b({.seed = 11}), c({.seed = 12});
  for (int i = 0; i < 3; ++i) {
    auto x = a.Next(), y = b.Next(), z = c.Next();
    ASSERT_TRUE(x.ok() && y.ok() && z.ok());
    EXPECT_EQ(x->puzzle, y->puzzle);
    EXPECT_NE(x->puzzle, z->puzzle);
  }
}

TEST(SudokuGenerator, OptionErrorsNameTheField) {
  EXPECT_EQ(SudokuGenerator({.min_givens = 16}).Next().error().message,
            "sudoku generator: min_givens 16 is below 17 (no 16-given puzzle has a unique "
            "solution)");
  EXPECT_EQ(SudokuGenerator({.min_givens = 30, .max_givens = 20}).Next().error().message,
            "sudoku generator: max_givens 20 is below min_givens 30");
  EXPECT_EQ(SudokuGenerator({.max_givens = 81}).Next().error().message,
            "sudoku generator: max_givens 81 is above 80");
  EXPECT_EQ(SudokuGenerator({.min_guesses = 5, .max_guesses = 2}).Next().error().message,
            "sudoku generator: max_guesses 2 is below min_guesses 5");
  EXPECT_EQ(SudokuGenerator({.min_guesses = -1}).Next().error().message,
            "sudoku generator: min_guesses -1 is negative");
  EXPECT_EQ(SudokuGenerator({.max_attempts = 0}).Next().error().message,
            "sudoku generator: max_attempts must be at least 1");
}

TEST(SudokuGenerator, GivesUpWithAClearError) {
  // 17 givens with an easy rating is (nearly) impossible: one attempt fails.
  SudokuGenerator gen({.seed = 1, .min_givens = 17, .max_givens = 17, .max_attempts = 1});
  auto g = gen.Next();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().message,
            "sudoku generator: no puzzle with 17..17 givens and rating 0..inf in 1 attempts");
}

}  // namespace
}  // namespace trm::puzzle
