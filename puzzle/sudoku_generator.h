// Seeded generator of unique-solution Sudoku puzzles with a target difficulty, so the trainer can
// draw unlimited fresh data from easy to extreme.
//
// Recipe: a random full grid (the solver on an empty grid with shuffled candidate order), then
// givens removed in random order while the solution stays unique, down to the target count;
// kept when the solver's guess count falls inside the rating band, else retried.
#pragma once

#include <cstdint>
#include <random>

#include "puzzle/expected.h"
#include "puzzle/sudoku.h"

namespace trm::puzzle {

struct SudokuGeneratorOptions {
  uint64_t seed = 0;
  // Target number of givens; the generator stops removing at min_givens, and a puzzle whose
  // removal got stuck above max_givens (every further removal breaks uniqueness) is retried.
  int min_givens = 17;
  int max_givens = 30;
  // Rating band on SudokuSolveResult::guesses (of a unique-check solve); max < 0: no upper bound.
  int64_t min_guesses = 0;
  int64_t max_guesses = -1;
  // Full attempts (new solution grid each) before Next() gives up with an error.
  int max_attempts = 10000;
};

struct GeneratedSudoku {
  SudokuGrid puzzle;
  SudokuGrid solution;
  int64_t guesses = 0;  // The rating.
};

class SudokuGenerator {
 public:
  // Options are checked by Next() (errors name the field, e.g. `min_givens 12 is below 17`).
  explicit SudokuGenerator(const SudokuGeneratorOptions& options);

  // The next puzzle of the seeded sequence; deterministic for a given seed and options.
  Expected<GeneratedSudoku> Next();

 private:
  SudokuGeneratorOptions options_;
  std::mt19937_64 rng_;
};

// A random complete valid grid (uniform over the solver's randomised search, not over all grids).
SudokuGrid RandomSudokuSolution(std::mt19937_64& rng);

}  // namespace trm::puzzle
