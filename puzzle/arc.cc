#include "puzzle/arc.h"

#include <string>

namespace trm::puzzle {
namespace {

std::string Cell(int row, int col) {
  return "r" + std::to_string(row + 1) + "c" + std::to_string(col + 1);
}

}  // namespace

Expected<void> ValidateArcGrid(const ArcGrid& grid) {
  if (grid.rows < 1 || grid.cols < 1) {
    return Error{"arc grid: empty (" + std::to_string(grid.rows) + "x" + std::to_string(grid.cols) +
                 ")"};
  }
  if (grid.rows > kArcMaxSide) {
    return Error{"arc grid: " + std::to_string(grid.rows) + " rows exceed 30"};
  }
  if (grid.cols > kArcMaxSide) {
    return Error{"arc grid: " + std::to_string(grid.cols) + " columns exceed 30"};
  }
  if (static_cast<int>(grid.cells.size()) != grid.rows * grid.cols) {
    return Error{"arc grid: " + std::to_string(grid.cells.size()) + " cells for shape " +
                 std::to_string(grid.rows) + "x" + std::to_string(grid.cols)};
  }
  for (int i = 0; i < grid.rows * grid.cols; ++i) {
    if (grid.cells[i] > 9) {
      return Error{"arc grid: colour " + std::to_string(grid.cells[i]) + " at " +
                   Cell(i / grid.cols, i % grid.cols) + " is outside 0..9"};
    }
  }
  return Ok();
}

Expected<ArcGrid> ArcGridFromRows(const std::vector<std::vector<int>>& rows) {
  if (rows.empty() || rows[0].empty()) return Error{"arc grid: empty"};
  if (rows.size() > kArcMaxSide) {
    return Error{"arc grid: " + std::to_string(rows.size()) + " rows exceed 30"};
  }
  ArcGrid grid;
  grid.rows = static_cast<int>(rows.size());
  grid.cols = static_cast<int>(rows[0].size());
  if (grid.cols > kArcMaxSide) {
    return Error{"arc grid: " + std::to_string(grid.cols) + " columns exceed 30"};
  }
  grid.cells.reserve(grid.rows * grid.cols);
  for (int r = 0; r < grid.rows; ++r) {
    if (static_cast<int>(rows[r].size()) != grid.cols) {
      return Error{"arc grid: row " + std::to_string(r + 1) + " has " +
                   std::to_string(rows[r].size()) + " cells, row 1 has " +
                   std::to_string(grid.cols)};
    }
    for (int c = 0; c < grid.cols; ++c) {
      int v = rows[r][c];
      if (v < 0 || v > 9) {
        return Error{"arc grid: colour " + std::to_string(v) + " at " + Cell(r, c) +
                     " is outside 0..9"};
      }
      grid.cells.push_back(static_cast<uint8_t>(v));
    }
  }
  return grid;
}

Expected<ArcGrid> ArcGridFromCells(int rows, int cols, std::span<const int32_t> cells) {
  if (rows < 1 || cols < 1) {
    return Error{"arc grid: empty (" + std::to_string(rows) + "x" + std::to_string(cols) + ")"};
  }
  if (rows > kArcMaxSide) return Error{"arc grid: " + std::to_string(rows) + " rows exceed 30"};
  if (cols > kArcMaxSide) {
    return Error{"arc grid: " + std::to_string(cols) + " columns exceed 30"};
  }
  if (static_cast<int64_t>(cells.size()) != int64_t(rows) * cols) {
    return Error{"arc grid: " + std::to_string(cells.size()) + " cells for shape " +
                 std::to_string(rows) + "x" + std::to_string(cols)};
  }
  ArcGrid grid{rows, cols, std::vector<uint8_t>(cells.size())};
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i] < 0 || cells[i] > 9) {
      return Error{"arc grid: colour " + std::to_string(cells[i]) + " at " +
                   Cell(static_cast<int>(i) / cols, static_cast<int>(i) % cols) +
                   " is outside 0..9"};
    }
    grid.cells[i] = static_cast<uint8_t>(cells[i]);
  }
  return grid;
}

std::vector<std::vector<int>> ArcGridToRows(const ArcGrid& grid) {
  std::vector<std::vector<int>> rows(grid.rows, std::vector<int>(grid.cols));
  for (int r = 0; r < grid.rows; ++r) {
    for (int c = 0; c < grid.cols; ++c) rows[r][c] = grid.at(r, c);
  }
  return rows;
}

std::vector<int32_t> ArcGridToTokens(const ArcGrid& grid, int pad_row, int pad_col) {
  std::vector<int32_t> tokens(kArcSeqLen, kArcPadToken);
  for (int r = 0; r < grid.rows; ++r) {
    for (int c = 0; c < grid.cols; ++c) {
      tokens[(pad_row + r) * kArcMaxSide + pad_col + c] = grid.at(r, c) + kArcColourOffset;
    }
  }
  // End-of-grid marks as the official builder: the row below the grid (its columns only) and
  // the column right of it (its rows only); the corner stays pad.
  const int eos_row = pad_row + grid.rows, eos_col = pad_col + grid.cols;
  if (eos_row < kArcMaxSide) {
    for (int c = pad_col; c < eos_col; ++c) tokens[eos_row * kArcMaxSide + c] = kArcEosToken;
  }
  if (eos_col < kArcMaxSide) {
    for (int r = pad_row; r < eos_row; ++r) tokens[r * kArcMaxSide + eos_col] = kArcEosToken;
  }
  return tokens;
}

Expected<ArcGrid> ArcGridFromTokens(std::span<const int32_t> tokens) {
  if (tokens.size() != kArcSeqLen) {
    return Error{"arc tokens: expected 900 tokens, got " + std::to_string(tokens.size())};
  }
  // evaluators/arc.py _crop: rows top-down; the column bound shrinks to the first non-colour
  // token of each row; keep the (rows, cols) of largest area (first one on ties).
  int max_area = 0, best_rows = 0, best_cols = 0, num_c = kArcMaxSide;
  for (int num_r = 1; num_r <= kArcMaxSide; ++num_r) {
    for (int c = 1; c <= num_c; ++c) {
      int32_t x = tokens[(num_r - 1) * kArcMaxSide + c - 1];
      if (x < 2 || x > 11) {
        num_c = c - 1;
        break;
      }
    }
    int area = num_r * num_c;
    if (area > max_area) {
      max_area = area;
      best_rows = num_r;
      best_cols = num_c;
    }
  }
  ArcGrid grid{best_rows, best_cols, std::vector<uint8_t>(best_rows * best_cols)};
  for (int r = 0; r < best_rows; ++r) {
    for (int c = 0; c < best_cols; ++c) {
      grid.cells[r * best_cols + c] = static_cast<uint8_t>(tokens[r * kArcMaxSide + c] - 2);
    }
  }
  return grid;
}

}  // namespace trm::puzzle
