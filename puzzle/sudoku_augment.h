// The official Sudoku augmentation (dataset/build_sudoku_dataset.py shuffle_sudoku): a digit
// permutation (blank stays blank), an optional transposition, a permutation of the three bands
// and of the rows inside each band, and likewise of the stacks and their columns. Validity and
// the number of solutions are preserved, so puzzle and solution are shuffled together.
#pragma once

#include <array>
#include <cstdint>
#include <random>

#include "puzzle/sudoku.h"

namespace trm::puzzle {

struct SudokuShuffle {
  std::array<uint8_t, 10> digits = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};  // digits[0] == 0.
  bool transpose = false;
  std::array<int, 9> row_order = {0, 1, 2, 3, 4, 5, 6, 7, 8};  // New row i is old row_order[i].
  std::array<int, 9> col_order = {0, 1, 2, 3, 4, 5, 6, 7, 8};

  // new[i][j] = digits[old'[row_order[i]][col_order[j]]], old' = transpose ? old^T : old.
  SudokuGrid Apply(const SudokuGrid& grid) const;
};

// As the official builder draws it: digits 1-9 permuted, transpose with probability 1/2, bands
// and rows-within-band permuted, stacks and columns-within-stack permuted.
SudokuShuffle RandomSudokuShuffle(std::mt19937_64& rng);

}  // namespace trm::puzzle
