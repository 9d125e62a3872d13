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
  struct Case {
    const char* maze;
    int length;
    bool unique;
  };
  const Case cases[] = {
      // Around the block both ways take 4 steps.
      {"#####\n#S  #\n# # #\n#  G#\n#####", 4, false},
      // The way round is longer than the direct route: not a tie.
      {"######\n#S  G#\n# ## #\n#    #\n######", 3, true},
  };
  for (const Case& c : cases) {
    auto maze = *ParseMaze(c.maze);
    auto r = SolveMaze(maze);
    ASSERT_TRUE(r.solvable) << c.maze;
    EXPECT_EQ(r.path_length, c.length) << c.maze;
    EXPECT_EQ(r.unique, c.unique) << c.maze;
    EXPECT_TRUE(VerifyMazeAnswer(maze, r.solution).ok()) << c.maze;
  }
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
