#include "puzzle/maze.h"

#include <gtest/gtest.h>

#include "puzzle/maze_solver.h"

namespace trm::puzzle {
namespace {

// 5x7 with two routes around the middle wall: 4 steps along the top, 8 along the bottom.
constexpr char kMaze[] =
    "#######\n"
    "#S   G#\n"
    "# ### #\n"
    "#     #\n"
    "#######";
constexpr char kAnswer[] =
    "#######\n"
    "#SoooG#\n"
    "# ### #\n"
    "#     #\n"
    "#######";

TEST(MazeParse, RowsTokensAndRoundTrip) {
  auto maze = ParseValidMaze(kMaze);
  ASSERT_TRUE(maze.ok()) << maze.error().message;
  EXPECT_EQ(maze->rows, 5);
  EXPECT_EQ(maze->cols, 7);
  EXPECT_EQ(maze->at(0, 0), kMazeWall);
  EXPECT_EQ(maze->at(1, 1), kMazeStart);
  EXPECT_EQ(maze->at(1, 2), kMazeOpen);
  EXPECT_EQ(maze->at(1, 5), kMazeGoal);
  EXPECT_EQ(MazeToString(*maze), kMaze);
  auto crlf = ParseMaze("#S#\r\n#G#\r\n\r\n\n");
  ASSERT_TRUE(crlf.ok());
  EXPECT_EQ(MazeToString(*crlf), "#S#\n#G#");
  auto answer = ParseMaze(kAnswer);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->at(1, 2), kMazePath);
}

TEST(MazeParse, ErrorsNameThePlace) {
  EXPECT_EQ(ParseMaze("#S#\n#x#").error().message, "maze: bad character 'x' at row 2, column 2");
  EXPECT_EQ(ParseMaze("#S#\n#\t#").error().message,
            "maze: bad character '\\x09' at row 2, column 2");
  EXPECT_EQ(ParseMaze("#S#\n#G").error().message, "maze: row 2 has 2 characters, row 1 has 3");
  EXPECT_EQ(ParseMaze("").error().message, "maze: empty");
  EXPECT_EQ(ParseMaze("\n\n").error().message, "maze: empty");
  std::string tall;
  for (int i = 0; i < 31; ++i) tall += "#\n";
  EXPECT_EQ(ParseMaze(tall).error().message, "maze: 31 rows exceed the maximum side 30");
  EXPECT_EQ(ParseMaze(std::string(31, '#')).error().message,
            "maze: 31 columns exceed the maximum side 30");
}

TEST(MazeValidate, StartGoalAndPathMarks) {
  EXPECT_EQ(ParseValidMaze("# G").error().message, "maze: no start 'S'");
  EXPECT_EQ(ParseValidMaze("#S ").error().message, "maze: no goal 'G'");
  EXPECT_EQ(ParseValidMaze("SG\n S").error().message, "maze: 2 starts 'S' (r1c1 and r2c2)");
  EXPECT_EQ(ParseValidMaze("SG\nG ").error().message, "maze: 2 goals 'G' (r1c2 and r2c1)");
  EXPECT_EQ(ParseValidMaze("So G").error().message, "maze: path mark 'o' at r1c2 in a puzzle");
  auto answer = ParseMaze(kAnswer);
  EXPECT_TRUE(ValidateMaze(*answer, /*allow_path=*/true).ok());
  Maze broken{2, 2, {3, 4, 2}};
  EXPECT_EQ(ValidateMaze(broken).error().message,
            "maze: size 2x2 with 3 cells is not a grid of at most 30x30");
  Maze bad_token{1, 3, {3, 4, 9}};
  EXPECT_EQ(ValidateMaze(bad_token).error().message, "maze: token 9 at r1c3 is outside 1..5");
}

TEST(MazeVerify, AcceptsTheShortestPath) {
  auto puzzle = *ParseMaze(kMaze);
  auto answer = *ParseMaze(kAnswer);
  EXPECT_TRUE(VerifyMazeAnswer(puzzle, answer).ok())
      << VerifyMazeAnswer(puzzle, answer).error().message;
  EXPECT_TRUE(VerifyMazeAnswer(puzzle, SolveMaze(puzzle).solution).ok());
  // Adjacent S and G: the empty path.
  EXPECT_TRUE(VerifyMazeAnswer(*ParseMaze("SG"), *ParseMaze("SG")).ok());
}

TEST(MazeVerify, RejectsEachFault) {
  auto puzzle = *ParseMaze(kMaze);
  auto verify = [&](const char* text) {
    auto answer = ParseMaze(text);
    EXPECT_TRUE(answer.ok());
    auto r = VerifyMazeAnswer(puzzle, *answer);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  // The longer (but simple and connected) route along the bottom.
  EXPECT_EQ(verify("#######\n#S   G#\n#o###o#\n#ooooo#\n#######"),
            "maze answer: path is 8 steps, the shortest is 4");
  // A dead-end branch off the shortest path.
  EXPECT_EQ(verify("#######\n#SoooG#\n#o### #\n#     #\n#######"),
            "maze answer: path is 5 steps, the shortest is 4");
  EXPECT_EQ(verify("#######\n#Soo G#\n# ### #\n#     #\n#######"),
            "maze answer: the marked path does not connect S to G");
  EXPECT_EQ(verify("#######\n#SoooG#\n# ### #\n#  o  #\n#######"),
            "maze answer: 'o' at r4c4 is not on the path from S to G");
  EXPECT_EQ(verify("o######\n#SoooG#\n# ### #\n#     #\n#######"),
            "maze answer: cell r1c1 is 'o' but the puzzle has '#'");
  EXPECT_EQ(verify("#######\n#ooooG#\n# ### #\n#     #\n#######"),
            "maze answer: cell r2c2 is 'o' but the puzzle has 'S'");
  EXPECT_EQ(verify("#######\n#SoooG#\n# ### #\n#     #"),
            "maze answer: size 4x7 differs from the puzzle's 5x7");
  EXPECT_EQ(VerifyMazeAnswer(*ParseMaze("S#G"), *ParseMaze("S#G")).error().message,
            "maze answer: the puzzle has no path from S to G");
  EXPECT_EQ(VerifyMazeAnswer(*ParseMaze("S#"), *ParseMaze("S#")).error().message,
            "maze: no goal 'G'");
}

TEST(MazeTokens, PaddedWithWallsAndRoundTrip) {
  auto maze = *ParseMaze(kAnswer);
  auto tokens = MazeToTokens(maze);
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 900u);
  EXPECT_EQ((*tokens)[1 * 30 + 1], 3);    // S
  EXPECT_EQ((*tokens)[1 * 30 + 5], 4);    // G
  EXPECT_EQ((*tokens)[1 * 30 + 2], 5);    // o
  EXPECT_EQ((*tokens)[3 * 30 + 2], 2);    // open
  EXPECT_EQ((*tokens)[29 * 30 + 29], 1);  // padding is wall
  EXPECT_EQ((*tokens)[1 * 30 + 20], 1);
  auto back = MazeFromTokens(*tokens, 5, 7);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, maze);
  // Padding does not change the shortest path.
  auto padded = MazeFromTokens(*tokens, 30, 30);
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(ShortestMazePathLength(*padded), ShortestMazePathLength(maze));
}

TEST(MazeTokens, Errors) {
  Maze big{31, 1, std::vector<uint8_t>(31, 1)};
  EXPECT_EQ(MazeToTokens(big).error().message, "maze: 31x1 does not fit the 30x30 frame");
  std::vector<int32_t> tokens(900, 1);
  EXPECT_EQ(MazeFromTokens(std::span(tokens).first(899), 5, 5).error().message,
            "maze tokens: expected 900 tokens, got 899");
  EXPECT_EQ(MazeFromTokens(tokens, 31, 5).error().message,
            "maze tokens: size 31x5 does not fit the 30x30 frame");
  tokens[1 * 30 + 2] = 0;
  EXPECT_EQ(MazeFromTokens(tokens, 5, 5).error().message,
            "maze tokens: token 0 at r2c3 is outside 1..5");
  EXPECT_TRUE(MazeFromTokens(tokens, 1, 5).ok());  // The bad token is outside the crop.
}

}  // namespace
}  // namespace trm::puzzle
