// Exact Sudoku solver: bitmask constraint propagation (naked and hidden singles) with
// backtracking on the cell with the fewest candidates. Also tells whether the solution is unique
// and how much search it needed - the guess count that tdoku-style benchmarks use as a rating.
#pragma once

#include <cstdint>

#include "puzzle/sudoku.h"

namespace trm::puzzle {

struct SudokuSolveOptions {
  // Stop after this many solutions; 2 is enough to tell unique from not unique, 1 is fastest.
  int max_solutions = 2;
  // Give up after this many guesses (0: never). A stopped search reports `aborted`.
  int64_t max_guesses = 0;
};

struct SudokuSolveResult {
  // Solutions found, capped at max_solutions: 0 (none, e.g. conflicting givens), 1 or 2.
  int num_solutions = 0;
  SudokuGrid solution;  // The first solution found; valid when num_solutions > 0.
  // Search effort over the whole run (including the search for a second solution):
  int64_t guesses = 0;     // Branch points where a candidate was tried (the difficulty rating).
  int64_t backtracks = 0;  // Contradictions that undid a guess.
  bool aborted = false;    // Hit max_guesses; num_solutions is then a lower bound.

  bool solved() const { return num_solutions > 0; }
  bool unique() const { return num_solutions == 1 && !aborted; }
};

// Never fails: an invalid or unsolvable puzzle gives num_solutions == 0. Thread-safe (no state).
SudokuSolveResult SolveSudoku(const SudokuGrid& puzzle, const SudokuSolveOptions& options = {});

}  // namespace trm::puzzle
