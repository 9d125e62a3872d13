// trm-data's two grid puzzle kinds. What the commands do the same way for Sudoku and mazes
// (read a puzzle file, solve it, verify answers, make training pairs, write a dataset split) is
// written once in trm_data_main.cc as templates over a Kind; a Kind says what differs: its
// parsers, its solver and what it counts, how a grid is printed, its dataset options.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "puzzle/dataset_builders.h"
#include "puzzle/expected.h"
#include "puzzle/maze.h"
#include "puzzle/maze_generator.h"
#include "puzzle/puzzle_file.h"
#include "puzzle/sudoku.h"
#include "puzzle/sudoku_generator.h"

namespace trm::puzzle {

struct SudokuKind {
  using Grid = SudokuGrid;
  using Pair = SudokuPair;
  using Generator = SudokuGenerator;
  static constexpr char kName[] = "sudoku";
  static constexpr char kRecordEnd[] = "\n";  // After each printed grid: one a line.

  static std::vector<PuzzleRecord> Split(std::string_view file) { return SplitSudokuFile(file); }
  static Expected<Grid> ParseValid(std::string_view text) { return ParseValidSudoku(text); }
  static Expected<Grid> ParseAnswer(std::string_view text) { return ParseSudoku(text); }
  static Expected<void> VerifyAnswer(const Grid& puzzle, const Grid& answer) {
    return VerifySudokuAnswer(puzzle, answer);
  }
  static std::string ToString(const Grid& grid) { return SudokuToString(grid); }

  // `solve`: the first solution of each puzzle, counting the search's guesses and the puzzles
  // with more than one solution for the summary.
  class Solver {
   public:
    Expected<Grid> Solve(const Grid& puzzle);
    // Appended to the summary line after the count of `solved` puzzles in `seconds`.
    void AppendSummary(std::ostream& out, int64_t solved, double seconds) const;

   private:
    int multiple_ = 0;
    int64_t guesses_ = 0, max_guesses_ = 0;
  };
  // `build`: a training pair needs a puzzle with exactly one solution.
  static Expected<Grid> SolveForPair(const Grid& puzzle);
  // `build`: train gets num_aug shuffles of each puzzle (< 0: the official 1000), test none.
  static Expected<int64_t> WriteSplit(const std::string& dir, const std::string& split,
                                      const std::vector<Pair>& pairs, bool train, uint64_t seed,
                                      int num_aug, const ProgressFn& progress);
};

struct MazeKind {
  using Grid = Maze;
  using Pair = MazePair;
  using Generator = MazeGenerator;
  static constexpr char kName[] = "maze";
  static constexpr char kRecordEnd[] = "\n\n";  // After each printed grid: blocks apart.

  static std::vector<PuzzleRecord> Split(std::string_view file) { return SplitMazeFile(file); }
  static Expected<Grid> ParseValid(std::string_view text) { return ParseValidMaze(text); }
  static Expected<Grid> ParseAnswer(std::string_view text) { return ParseMaze(text); }
  static Expected<void> VerifyAnswer(const Grid& puzzle, const Grid& answer) {
    return VerifyMazeAnswer(puzzle, answer);
  }
  static std::string ToString(const Grid& grid) { return MazeToString(grid); }

  // A shortest path from S to G (ties allowed: the label is one of them), for `solve` and
  // `build` alike; `solve`'s summary adds nothing.
  static Expected<Grid> SolveForPair(const Grid& maze);
  class Solver {
   public:
    Expected<Grid> Solve(const Grid& maze) { return SolveForPair(maze); }
    void AppendSummary(std::ostream&, int64_t, double) const {}
  };
  // `build`: train gets the 7 other dihedral transforms unless num_aug is 0, test none.
  static Expected<int64_t> WriteSplit(const std::string& dir, const std::string& split,
                                      const std::vector<Pair>& pairs, bool train, uint64_t seed,
                                      int num_aug, const ProgressFn& progress);
};

}  // namespace trm::puzzle
