// Sudoku (9x9): parsing, validation, answer verification and the official token layout.
//
// Tokens are exactly those of the official dataset/build_sudoku_dataset.py: pad 0, blank 1,
// digit d -> d + 1 (vocabulary 11, sequence length 81, row-major).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "puzzle/expected.h"

namespace trm::puzzle {

inline constexpr int kSudokuSide = 9;
inline constexpr int kSudokuCells = 81;
inline constexpr int kSudokuSeqLen = 81;
inline constexpr int kSudokuVocabSize = 11;
inline constexpr int32_t kSudokuPadToken = 0;
inline constexpr int32_t kSudokuBlankToken = 1;

// A 9x9 grid, row-major; 0 is a blank, 1-9 a digit.
struct SudokuGrid {
  std::array<uint8_t, kSudokuCells> cells{};

  int at(int row, int col) const { return cells[row * kSudokuSide + col]; }
  int givens() const;  // Number of non-blank cells.
  bool complete() const { return givens() == kSudokuCells; }
  friend bool operator==(const SudokuGrid&, const SudokuGrid&) = default;
};

// Parses 81 cells from text: digits 1-9, '.' or '0' for blanks. Whitespace and the usual grid
// separators '|', '-', '+' are skipped, so a pasted 9-line grid works. Checks the characters and
// the count only (not the rules: see ValidateSudoku). Errors:
//   `sudoku: bad character 'x' at position 17` (0-based position in `text`)
//   `sudoku: expected 81 cells, got 80`
Expected<SudokuGrid> ParseSudoku(std::string_view text);

// From 81 row-major values 0-9 (0 blank), e.g. a 9x9 array flattened. Errors name the index.
Expected<SudokuGrid> SudokuFromCells(std::span<const int32_t> cells);

// Checks the givens against the rules: no digit twice in a row, column or 3x3 box. The error
// names both cells (1-based): `sudoku: digit 5 appears twice in row 3 (r3c2 and r3c8)`.
Expected<void> ValidateSudoku(const SudokuGrid& puzzle);

// ParseSudoku followed by ValidateSudoku.
Expected<SudokuGrid> ParseValidSudoku(std::string_view text);

// Checks that `answer` solves `puzzle`: complete, every row/column/box a permutation of 1-9, and
// every given kept. Errors say which rule and where, e.g. `sudoku answer: cell r1c4 is blank`,
// `sudoku answer: digit 7 appears twice in box 5 (r4c4 and r6c5)`,
// `sudoku answer: cell r2c3 is 4 but the puzzle gives 8`.
Expected<void> VerifySudokuAnswer(const SudokuGrid& puzzle, const SudokuGrid& answer);

// 81 characters, digits, with `blank` for blanks (a solved grid is 81 digits).
std::string SudokuToString(const SudokuGrid& grid, char blank = '.');
// Nine lines with box separators, for humans.
std::string SudokuToPrettyString(const SudokuGrid& grid);

// Official tokens: blank -> 1, digit d -> d + 1. Always 81 tokens.
std::vector<int32_t> SudokuToTokens(const SudokuGrid& grid);
// Decodes 81 tokens (e.g. a model's argmax answer): 2-10 -> digits 1-9; pad 0 and blank 1 ->
// blank (so an unfinished answer fails verification rather than decoding). Errors on a wrong
// length or a token outside 0-10: `sudoku tokens: token 12 at position 5 is outside 0..10`.
Expected<SudokuGrid> SudokuFromTokens(std::span<const int32_t> tokens);

}  // namespace trm::puzzle
