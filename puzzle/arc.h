// ARC grids and tasks, and the official token layout (dataset/build_arc_dataset.py):
// pad 0, end-of-grid 1, colour c -> c + 2 (vocabulary 12), each grid placed in a 30x30 frame
// (sequence length 900) at an offset (0, 0 unless translation augmentation), with end-of-grid
// tokens on the row just below and the column just right of the grid where they fit.
// Decoding crops exactly as the official evaluator (evaluators/arc.py _crop).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "puzzle/expected.h"

namespace trm::puzzle {

inline constexpr int kArcMaxSide = 30;
inline constexpr int kArcSeqLen = kArcMaxSide * kArcMaxSide;
inline constexpr int kArcVocabSize = 12;
inline constexpr int32_t kArcPadToken = 0;
inline constexpr int32_t kArcEosToken = 1;
inline constexpr int32_t kArcColourOffset = 2;

struct ArcGrid {
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> cells;  // rows * cols colours 0-9, row-major.

  uint8_t at(int row, int col) const { return cells[row * cols + col]; }
  friend bool operator==(const ArcGrid&, const ArcGrid&) = default;
};

struct ArcExample {
  ArcGrid input;
  std::optional<ArcGrid> output;  // Absent for a test input whose solution is not known.
};

struct ArcTask {
  std::string id;
  std::vector<ArcExample> train;
  std::vector<ArcExample> test;
};

// From rows of colours. Errors: `arc grid: row 2 has 3 cells, row 1 has 4`,
// `arc grid: colour 12 at r3c1 is outside 0..9`, `arc grid: 31 rows exceed 30`, `arc grid: empty`.
Expected<ArcGrid> ArcGridFromRows(const std::vector<std::vector<int>>& rows);
// From row-major cells with the given shape; same checks.
Expected<ArcGrid> ArcGridFromCells(int rows, int cols, std::span<const int32_t> cells);
Expected<void> ValidateArcGrid(const ArcGrid& grid);
std::vector<std::vector<int>> ArcGridToRows(const ArcGrid& grid);

// 900 tokens: the grid at (pad_row, pad_col) in the 30x30 frame, as the official builder's
// np_grid_to_seq_translational_augment. Precondition: the grid is valid and fits at the offset.
std::vector<int32_t> ArcGridToTokens(const ArcGrid& grid, int pad_row = 0, int pad_col = 0);

// The official evaluator's crop of 900 tokens: the largest-area top-left rectangle whose every
// cell is a colour token (2..11), scanning rows top down with a shrinking column bound; colours
// are token - 2. Returns a 0x0 grid when the top-left token is not a colour. Errors only on a
// length other than 900.
Expected<ArcGrid> ArcGridFromTokens(std::span<const int32_t> tokens);

}  // namespace trm::puzzle
