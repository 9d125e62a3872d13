// Puzzle files, as ../shared/data/sudoku and `trm-data solve/generate` use them:
// Sudoku: one puzzle per line; empty lines and lines starting with '#' are skipped.
// Mazes: one block of rows per puzzle, blocks separated by empty lines (a line of spaces only is
// a maze row, not a separator); since a row may start with '#' (a wall), comment lines in maze
// files start with "//".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "puzzle/expected.h"

namespace trm::puzzle {

struct PuzzleRecord {
  int line = 0;      // 1-based line number where the record starts, for error messages.
  std::string text;  // The line (Sudoku) or the block's rows joined with '\n' (maze).
};

std::vector<PuzzleRecord> SplitSudokuFile(std::string_view content);
// Blocks are maximal runs of non-empty lines (trailing '\r' removed); "//" lines are skipped.
std::vector<PuzzleRecord> SplitMazeFile(std::string_view content);

// Whole file. Errors: `cannot read FILE: No such file or directory`.
Expected<std::string> ReadTextFile(const std::string& path);
Expected<void> WriteTextFile(const std::string& path, std::string_view content);

}  // namespace trm::puzzle
