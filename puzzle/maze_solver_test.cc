#include "puzzle/maze_solver.h"

#include <gtest/gtest.h>

namespace trm::puzzle {
namespace {

TEST(MazeSolver, FindsTheShortestOfTwoRoutes) {
  auto maze = *ParseMaze(
      "#######\n"
      "#S    #\n"
      "# ### #\n"
      "# #  G#\n"
      "#######");
  auto r = SolveMaze(maze);
  ASSERT_TRUE(r.solvable);
  EXPECT_EQ(r.path_length, 6);  // Top route; the bottom one is blocked at r4c3.
  ASSERT_EQ(r.path.size(), 7u);
  EXPECT_EQ(r.path.front(), 1 * 7 + 1);
  EXPECT_EQ(r.path.back(), 3 * 7 + 5);
  for (size_t k = 1; k < r.path.size(); ++k) {
    int a = r.path[k - 1], b = r.path[k];
    EXPECT_EQ(std::abs(a / 7 - b / 7) + std::abs(a % 7 - b % 7), 1);  // 4-connected steps.
  }
  EXPECT_TRUE(VerifyMazeAnswer(maze, r.solution).ok());
  EXPECT_EQ(ShortestMazePathLength(maze), 6);
  EXPECT_EQ(MazeToString(r.solution), "#######\n#Soooo#\n# ###o#\n# #  G#\n#######");
  EXPECT_TRUE(r.unique);
}

TEST(MazeSolver, TiedShortestPathsAreNotUnique) {
  // Around the block both ways take 4 steps. Below, the way round is longer than the direct
  // route and must not count as a tie.
  auto tied = *ParseMaze(
      "#####\n"
      "#S  #\n"
      "# # #\n"
      "#  G#\n"
      "#####");
  auto r = SolveMaze(tied);
  ASSERT_TRUE(r.solvable);
  EXPECT_EQ(r.path_length, 4);
  EXPECT_FALSE(r.unique);
  EXPECT_TRUE(VerifyMazeAnswer(tied, r.solution).ok());

  auto longer_detour = *ParseMaze(
      "######\n"
      "#S  G#\n"
      "# ## #\n"
      "#    #\n"
      "######");
  auto d = SolveMaze(longer_detour);
  ASSERT_TRUE(d.solvable);
  EXPECT_EQ(d.path_length, 3);
  EXPECT_TRUE(d.unique);
}

TEST(MazeSolver, UnreachableAndMalformed) {
  EXPECT_FALSE(SolveMaze(*ParseMaze("S#G")).solvable);
  EXPECT_EQ(ShortestMazePathLength(*ParseMaze("S#G")), -1);
  EXPECT_FALSE(SolveMaze(*ParseMaze("S  ")).solvable);
  EXPECT_FALSE(SolveMaze(*ParseMaze("S G S")).solvable);
  EXPECT_FALSE(SolveMaze(Maze{}).solvable);
  EXPECT_FALSE(SolveMaze(Maze{2, 2, {3}}).solvable);
}

TEST(MazeSolver, OldMarksAreTreatedAsOpenAndReplaced) {
  auto maze = *ParseMaze("So o G");
  auto r = SolveMaze(maze);
  ASSERT_TRUE(r.solvable);
  EXPECT_EQ(r.path_length, 5);
  EXPECT_EQ(MazeToString(r.solution), "SooooG");
}

}  // namespace
}  // namespace trm::puzzle
