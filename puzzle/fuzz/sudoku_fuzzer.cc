// libFuzzer target: the Sudoku parser, then every rule downstream of a successful parse.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "puzzle/sudoku.h"
#include "puzzle/sudoku_solver.h"

using namespace trm::puzzle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto grid = ParseSudoku(text);
  if (!grid.ok()) {
    if (grid.error().message.empty()) abort();
    return 0;
  }
  auto again = ParseSudoku(SudokuToString(*grid));
  if (!again.ok() || *again != *grid) abort();
  auto decoded = SudokuFromTokens(SudokuToTokens(*grid));
  if (!decoded.ok() || *decoded != *grid) abort();
  if (!ValidateSudoku(*grid).ok()) return 0;
  auto result = SolveSudoku(*grid, {.max_solutions = 2, .max_guesses = 5000});
  if (result.solved() && !VerifySudokuAnswer(*grid, result.solution).ok()) abort();
  return 0;
}
