#include "puzzle/sudoku_augment.h"

#include <algorithm>
#include <numeric>

namespace trm::puzzle {

SudokuGrid SudokuShuffle::Apply(const SudokuGrid& grid) const {
  SudokuGrid source = grid;
  if (transpose) {
    for (int r = 0; r < 9; ++r) {
      for (int c = 0; c < 9; ++c) source.cells[r * 9 + c] = grid.cells[c * 9 + r];
    }
  }
  SudokuGrid out;
  for (int r = 0; r < 9; ++r) {
    for (int c = 0; c < 9; ++c) {
      out.cells[r * 9 + c] = digits[source.cells[row_order[r] * 9 + col_order[c]]];
    }
  }
  return out;
}

SudokuShuffle RandomSudokuShuffle(std::mt19937_64& rng) {
  SudokuShuffle s;
  std::shuffle(s.digits.begin() + 1, s.digits.end(), rng);
  s.transpose = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  // Bands then rows within each band (the official row_perm), likewise stacks and columns.
  auto lines = [&rng](std::array<int, 9>& order) {
    std::array<int, 3> blocks = {0, 1, 2};
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (int b = 0; b < 3; ++b) {
      std::array<int, 3> inner = {0, 1, 2};
      std::shuffle(inner.begin(), inner.end(), rng);
      for (int k = 0; k < 3; ++k) order[b * 3 + k] = blocks[b] * 3 + inner[k];
    }
  };
  lines(s.row_order);
  lines(s.col_order);
  return s;
}

}  // namespace trm::puzzle
