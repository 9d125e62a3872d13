#include "puzzle/maze_generator.h"

#include <gtest/gtest.h>

#include "puzzle/maze_solver.h"

namespace trm::puzzle {
namespace {

TEST(MazeGenerator, MazeHardRecipe) {
  MazeGenerator gen(MazeGeneratorOptions::MazeHard(1));
  for (int i = 0; i < 10; ++i) {
    auto g = gen.Next();
    ASSERT_TRUE(g.ok()) << g.error().message;
    EXPECT_EQ(g->puzzle.rows, 30);
    EXPECT_EQ(g->puzzle.cols, 30);
    ASSERT_TRUE(ValidateMaze(g->puzzle).ok());
    EXPECT_GT(g->path_length, 110);
    EXPECT_EQ(ShortestMazePathLength(g->puzzle), g->path_length);
    auto verdict = VerifyMazeAnswer(g->puzzle, g->solution);
    EXPECT_TRUE(verdict.ok()) << verdict.error().message;
  }
}

TEST(MazeGenerator, SmallBandedAndDeterministic) {
  MazeGeneratorOptions o{.seed = 4, .side = 9, .min_path_length = 4, .max_path_length = 10};
  MazeGenerator a(o), b(o);
  for (int i = 0; i < 20; ++i) {
    auto x = a.Next(), y = b.Next();
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(x->puzzle, y->puzzle);
    EXPECT_EQ(x->puzzle.rows, 9);
    EXPECT_GE(x->path_length, 4);
    EXPECT_LE(x->path_length, 10);
    EXPECT_TRUE(VerifyMazeAnswer(x->puzzle, x->solution).ok());
    EXPECT_TRUE(SolveMaze(x->puzzle).unique);
  }
  MazeGenerator c({.seed = 5, .side = 9});
  EXPECT_NE(c.Next()->puzzle, MazeGenerator(o).Next()->puzzle);
}

TEST(MazeGenerator, TiesOnlyWhenAllowed) {
  // Loops tie a share of small mazes; the default keeps only unique shortest paths.
  int ties_allowed = 0, ties_default = 0;
  MazeGenerator loose({.seed = 8, .side = 9, .min_path_length = 4, .unique_shortest_path = false});
  MazeGenerator strict({.seed = 8, .side = 9, .min_path_length = 4});
  for (int i = 0; i < 200; ++i) {
    ties_allowed += !SolveMaze(loose.Next()->puzzle).unique;
    ties_default += !SolveMaze(strict.Next()->puzzle).unique;
  }
  EXPECT_GT(ties_allowed, 0);
  EXPECT_EQ(ties_default, 0);
}

TEST(MazeGenerator, OptionErrors) {
  EXPECT_EQ(MazeGenerator({.side = 3}).Next().error().message,
            "maze generator: side 3 is outside 5..30");
  EXPECT_EQ(MazeGenerator({.side = 31}).Next().error().message,
            "maze generator: side 31 is outside 5..30");
  EXPECT_EQ(MazeGenerator({.loop_fraction = 2}).Next().error().message,
            "maze generator: loop_fraction 2.000000 is outside 0..1");
  EXPECT_EQ(MazeGenerator({.min_path_length = 9, .max_path_length = 3}).Next().error().message,
            "maze generator: max_path_length 3 is below min_path_length 9");
  EXPECT_EQ(MazeGenerator({.min_path_length = -2}).Next().error().message,
            "maze generator: min_path_length -2 is negative");
  EXPECT_EQ(MazeGenerator({.max_attempts = 0}).Next().error().message,
            "maze generator: max_attempts must be at least 1");
  EXPECT_EQ(
      MazeGenerator({.side = 5, .min_path_length = 100, .max_attempts = 50}).Next().error().message,
      "maze generator: no 5x5 maze with a shortest path of 100..inf steps (unique) in 50 attempts");
}

}  // namespace
}  // namespace trm::puzzle
