#include "puzzle/cli/puzzle_kinds.h"

#include <algorithm>

#include "puzzle/maze_solver.h"
#include "puzzle/sudoku_solver.h"

namespace trm::puzzle {

Expected<SudokuGrid> SudokuKind::Solver::Solve(const SudokuGrid& puzzle) {
  SudokuSolveResult result = SolveSudoku(puzzle);
  if (!result.solved()) return Error{"sudoku: no solution"};
  multiple_ += !result.unique();
  guesses_ += result.guesses;
  max_guesses_ = std::max(max_guesses_, result.guesses);
  return result.solution;
}

void SudokuKind::Solver::AppendSummary(std::ostream& out, int64_t solved, double seconds) const {
  if (solved > 0) {
    // Each solve also searches for a second solution, to tell unique puzzles apart.
    out << " (" << static_cast<int64_t>(solved / std::max(seconds, 1e-9))
        << "/s with uniqueness check; guesses mean " << double(guesses_) / solved << ", max "
        << max_guesses_ << ")";
  }
  if (multiple_) out << "; " << multiple_ << " with more than one solution: first shown";
}

Expected<SudokuGrid> SudokuKind::SolveForPair(const SudokuGrid& puzzle) {
  SudokuSolveResult result = SolveSudoku(puzzle);
  if (!result.unique()) {
    return Error{std::string("sudoku: ") +
                 (result.solved() ? "more than one solution" : "no solution")};
  }
  return result.solution;
}

Expected<int64_t> SudokuKind::WriteSplit(const std::string& dir, const std::string& split,
                                         const std::vector<SudokuPair>& pairs, bool train,
                                         uint64_t seed, int num_aug, const ProgressFn& progress) {
  const int aug = !train ? 0 : num_aug >= 0 ? num_aug : 1000;
  return WriteSudokuSplit(dir, split, pairs, {.seed = seed, .num_aug = aug}, progress);
}

Expected<Maze> MazeKind::SolveForPair(const Maze& maze) {
  MazeSolveResult result = SolveMaze(maze);
  if (!result.solvable) return Error{"maze: no path from S to G"};
  return result.solution;
}

Expected<int64_t> MazeKind::WriteSplit(const std::string& dir, const std::string& split,
                                       const std::vector<MazePair>& pairs, bool train,
                                       uint64_t /*seed*/, int num_aug, const ProgressFn& progress) {
  return WriteMazeSplit(dir, split, pairs, {.dihedral_aug = train && num_aug != 0}, progress);
}

}  // namespace trm::puzzle
