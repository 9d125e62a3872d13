// Mazes: parsing, validation, answer verification and the official token layout.
//
// Characters and tokens as the official dataset/build_maze_dataset.py (CHARSET "# SGo", token =
// index + 1): '#' wall 1, ' ' open 2, 'S' start 3, 'G' goal 4, 'o' path 5, pad 0 (vocabulary 6).
// A model sees a square of side kMazeMaxSide (30); a smaller maze is placed at the top-left and
// the rest filled with walls, which no shortest path can use, so answers are unchanged.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "puzzle/expected.h"

namespace trm::puzzle {

inline constexpr int kMazeMaxSide = 30;
inline constexpr int kMazeVocabSize = 6;
inline constexpr int kMazeSeqLen = kMazeMaxSide * kMazeMaxSide;

// Cell values are the official tokens.
enum MazeCell : uint8_t {
  kMazePad = 0,
  kMazeWall = 1,
  kMazeOpen = 2,
  kMazeStart = 3,
  kMazeGoal = 4,
  kMazePath = 5
};

struct Maze {
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> cells;  // rows * cols MazeCell values, row-major.

  uint8_t at(int row, int col) const { return cells[row * cols + col]; }
  friend bool operator==(const Maze&, const Maze&) = default;
};

// Parses rows of "# SGo" separated by '\n' ("\r\n" accepted; trailing empty lines ignored).
// Checks shape and characters only. Errors: `maze: bad character 'x' at row 3, column 7`
// (1-based), `maze: row 4 has 12 characters, row 1 has 13`, `maze: empty`,
// `maze: 31 rows exceed the maximum side 30` (likewise columns).
Expected<Maze> ParseMaze(std::string_view text);
Expected<Maze> ParseMazeRows(const std::vector<std::string>& rows);

// A puzzle: rectangular, at most 30x30, exactly one 'S' and one 'G', and
// no 'o' (unless allow_path, for answers). Errors: `maze: no start 'S'`,
// `maze: 2 starts 'S' (r1c2 and r5c9)`, `maze: path mark 'o' at r3c4 in a puzzle`.
Expected<void> ValidateMaze(const Maze& maze, bool allow_path = false);

// ParseMaze then ValidateMaze(maze, /*allow_path=*/false).
Expected<Maze> ParseValidMaze(std::string_view text);

// Checks that `answer` solves `puzzle`: same size, every cell the puzzle's except open cells
// turned into 'o'; the 'o' cells with S and G form one 4-connected simple path from S to G; and
// it is a shortest path (its length equals BFS's). Errors say what is wrong and where, e.g.
// `maze answer: cell r4c5 is 'o' but the puzzle has '#'`, `maze answer: path is 40 steps, the
// shortest is 38`, `maze answer: 'o' at r2c2 is not on the path from S to G`.
Expected<void> VerifyMazeAnswer(const Maze& puzzle, const Maze& answer);

// Rows of characters, and the same joined with '\n' (no trailing newline).
std::vector<std::string> MazeToRows(const Maze& maze);
std::string MazeToString(const Maze& maze);

// Tokens in a side x side frame (side >= rows, cols; default the model's 30), padded with walls.
// Errors when the maze is larger than the frame.
Expected<std::vector<int32_t>> MazeToTokens(const Maze& maze, int side = kMazeMaxSide);
// Decodes side x side tokens (e.g. a model's answer) and crops the top-left rows x cols, the
// original maze's size. Errors on a wrong length or a token outside 1..5 inside the crop
// (`maze tokens: token 0 at r2c3`).
Expected<Maze> MazeFromTokens(std::span<const int32_t> tokens, int rows, int cols,
                              int side = kMazeMaxSide);

}  // namespace trm::puzzle
