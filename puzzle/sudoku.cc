#include "puzzle/sudoku.h"

#include <string>

namespace trm::puzzle {
namespace {

std::string Cell(int index) {
  return "r" + std::to_string(index / 9 + 1) + "c" + std::to_string(index % 9 + 1);
}

// Finds the first digit that appears twice in one unit. `what` prefixes the message.
Expected<void> CheckUnits(const SudokuGrid& grid, const std::string& what) {
  for (int kind = 0; kind < 3; ++kind) {
    for (int unit = 0; unit < 9; ++unit) {
      int seen_at[10];
      for (int& s : seen_at) s = -1;
      for (int k = 0; k < 9; ++k) {
        int index = kind == 0   ? unit * 9 + k
                    : kind == 1 ? k * 9 + unit
                                : ((unit / 3) * 3 + k / 3) * 9 + (unit % 3) * 3 + k % 3;
        int d = grid.cells[index];
        if (d == 0) continue;
        if (seen_at[d] >= 0) {
          static const char* kKinds[] = {"row", "column", "box"};
          return Error{what + ": digit " + std::to_string(d) + " appears twice in " + kKinds[kind] +
                       " " + std::to_string(unit + 1) + " (" + Cell(seen_at[d]) + " and " +
                       Cell(index) + ")"};
        }
        seen_at[d] = index;
      }
    }
  }
  return Ok();
}

std::string Printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  char buf[8];
  snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
  return buf;
}

}  // namespace

int SudokuGrid::givens() const {
  int n = 0;
  for (uint8_t c : cells) n += c != 0;
  return n;
}

Expected<SudokuGrid> ParseSudoku(std::string_view text) {
  SudokuGrid grid;
  int count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '|' || c == '-' || c == '+') {
      continue;
    }
    int value;
    if (c >= '1' && c <= '9') {
      value = c - '0';
    } else if (c == '.' || c == '0') {
      value = 0;
    } else {
      return Error{"sudoku: bad character '" + Printable(c) + "' at position " + std::to_string(i)};
    }
    if (count < kSudokuCells) grid.cells[count] = static_cast<uint8_t>(value);
    ++count;
  }
  if (count != kSudokuCells) {
    return Error{"sudoku: expected 81 cells, got " + std::to_string(count)};
  }
  return grid;
}

Expected<SudokuGrid> SudokuFromCells(std::span<const int32_t> cells) {
  if (cells.size() != kSudokuCells) {
    return Error{"sudoku: expected 81 cells, got " + std::to_string(cells.size())};
  }
  SudokuGrid grid;
  for (int i = 0; i < kSudokuCells; ++i) {
    if (cells[i] < 0 || cells[i] > 9) {
      return Error{"sudoku: value " + std::to_string(cells[i]) + " at " + Cell(i) +
                   " is outside 0..9"};
    }
    grid.cells[i] = static_cast<uint8_t>(cells[i]);
  }
  return grid;
}

Expected<void> ValidateSudoku(const SudokuGrid& puzzle) { return CheckUnits(puzzle, "sudoku"); }

Expected<SudokuGrid> ParseValidSudoku(std::string_view text) {
  auto grid = ParseSudoku(text);
  if (!grid.ok()) return grid;
  if (auto valid = ValidateSudoku(*grid); !valid.ok()) return valid.error();
  return grid;
}

Expected<void> VerifySudokuAnswer(const SudokuGrid& puzzle, const SudokuGrid& answer) {
  for (int i = 0; i < kSudokuCells; ++i) {
    if (answer.cells[i] == 0) return Error{"sudoku answer: cell " + Cell(i) + " is blank"};
    if (answer.cells[i] > 9) {
      return Error{"sudoku answer: cell " + Cell(i) + " holds " + std::to_string(answer.cells[i])};
    }
  }
  for (int i = 0; i < kSudokuCells; ++i) {
    if (puzzle.cells[i] != 0 && puzzle.cells[i] != answer.cells[i]) {
      return Error{"sudoku answer: cell " + Cell(i) + " is " + std::to_string(answer.cells[i]) +
                   " but the puzzle gives " + std::to_string(puzzle.cells[i])};
    }
  }
  // Complete and no duplicate in any unit means every unit is a permutation of 1-9.
  return CheckUnits(answer, "sudoku answer");
}

std::string SudokuToString(const SudokuGrid& grid, char blank) {
  std::string s(kSudokuCells, blank);
  for (int i = 0; i < kSudokuCells; ++i) {
    if (grid.cells[i]) s[i] = static_cast<char>('0' + grid.cells[i]);
  }
  return s;
}

std::string SudokuToPrettyString(const SudokuGrid& grid) {
  std::string s;
  for (int r = 0; r < 9; ++r) {
    if (r == 3 || r == 6) s += "------+-------+------\n";
    for (int c = 0; c < 9; ++c) {
      if (c == 3 || c == 6) s += "| ";
      int d = grid.at(r, c);
      s += d ? static_cast<char>('0' + d) : '.';
      s += c == 8 ? '\n' : ' ';
    }
  }
  return s;
}

std::vector<int32_t> SudokuToTokens(const SudokuGrid& grid) {
  std::vector<int32_t> tokens(kSudokuCells);
  for (int i = 0; i < kSudokuCells; ++i) tokens[i] = grid.cells[i] + 1;
  return tokens;
}

Expected<SudokuGrid> SudokuFromTokens(std::span<const int32_t> tokens) {
  if (tokens.size() != kSudokuSeqLen) {
    return Error{"sudoku tokens: expected 81 tokens, got " + std::to_string(tokens.size())};
  }
  SudokuGrid grid;
  for (int i = 0; i < kSudokuSeqLen; ++i) {
    int32_t t = tokens[i];
    if (t < 0 || t >= kSudokuVocabSize) {
      return Error{"sudoku tokens: token " + std::to_string(t) + " at position " +
                   std::to_string(i) + " is outside 0..10"};
    }
    grid.cells[i] = static_cast<uint8_t>(t >= 2 ? t - 1 : 0);
  }
  return grid;
}

}  // namespace trm::puzzle
