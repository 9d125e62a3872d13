#include "puzzle/sudoku_generator.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "puzzle/sudoku_solver.h"

namespace trm::puzzle {
namespace {

Expected<void> CheckOptions(const SudokuGeneratorOptions& o) {
  auto fail = [](const std::string& m) { return Error{"sudoku generator: " + m}; };
  if (o.min_givens < 17) {
    return fail("min_givens " + std::to_string(o.min_givens) +
                " is below 17 (no 16-given puzzle has a unique solution)");
  }
  if (o.max_givens > 80) return fail("max_givens " + std::to_string(o.max_givens) + " is above 80");
  if (o.max_givens < o.min_givens) {
    return fail("max_givens " + std::to_string(o.max_givens) + " is below min_givens " +
                std::to_string(o.min_givens));
  }
  if (o.min_guesses < 0)
    return fail("min_guesses " + std::to_string(o.min_guesses) + " is negative");
  if (o.max_guesses >= 0 && o.max_guesses < o.min_guesses) {
    return fail("max_guesses " + std::to_string(o.max_guesses) + " is below min_guesses " +
                std::to_string(o.min_guesses));
  }
  if (o.max_attempts < 1) return fail("max_attempts must be at least 1");
  return Ok();
}

}  // namespace

SudokuGrid RandomSudokuSolution(std::mt19937_64& rng) {
  // Random digits in random cells, each kept only if the grid stays solvable, until the solver's
  // first solution is forced by enough random choices; then that solution.
  for (;;) {
    SudokuGrid grid;
    std::array<int, 81> order;
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::uniform_int_distribution<int> digit(1, 9);
    int placed = 0;
    for (int cell : order) {
      if (placed == 24) break;
      grid.cells[cell] = static_cast<uint8_t>(digit(rng));
      if (!ValidateSudoku(grid).ok()) {
        grid.cells[cell] = 0;
        continue;
      }
      ++placed;
    }
    auto result = SolveSudoku(grid, {.max_solutions = 1, .max_guesses = 2000});
    if (result.solved()) return result.solution;
  }
}

SudokuGenerator::SudokuGenerator(const SudokuGeneratorOptions& options)
    : options_(options), rng_(options.seed) {}

Expected<GeneratedSudoku> SudokuGenerator::Next() {
  if (auto ok = CheckOptions(options_); !ok.ok()) return ok.error();
  std::uniform_int_distribution<int> target_dist(options_.min_givens, options_.max_givens);
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    SudokuGrid solution = RandomSudokuSolution(rng_);
    SudokuGrid puzzle = solution;
    int target = target_dist(rng_);
    std::array<int, 81> order;
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng_);
    int givens = 81;
    // Remove givens while the solution stays unique. Early on (many givens) uniqueness is
    // certain after propagation, so the solver returns at once.
    for (int cell : order) {
      if (givens <= target) break;
      uint8_t keep = puzzle.cells[cell];
      puzzle.cells[cell] = 0;
      if (SolveSudoku(puzzle).unique()) {
        --givens;
      } else {
        puzzle.cells[cell] = keep;
      }
    }
    if (givens > options_.max_givens) continue;
    SudokuSolveResult rating = SolveSudoku(puzzle);
    if (rating.guesses < options_.min_guesses) continue;
    if (options_.max_guesses >= 0 && rating.guesses > options_.max_guesses) continue;
    return GeneratedSudoku{puzzle, solution, rating.guesses};
  }
  return Error{
      "sudoku generator: no puzzle with " + std::to_string(options_.min_givens) + ".." +
      std::to_string(options_.max_givens) + " givens and rating " +
      std::to_string(options_.min_guesses) + ".." +
      (options_.max_guesses < 0 ? std::string("inf") : std::to_string(options_.max_guesses)) +
      " in " + std::to_string(options_.max_attempts) + " attempts"};
}

}  // namespace trm::puzzle
