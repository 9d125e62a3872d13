// The 8 dihedral transforms of a rectangular grid, numbered as the official
// dataset/common.py dihedral_transform (numpy semantics):
//   0 identity, 1 rot90 (counter-clockwise), 2 rot180, 3 rot270, 4 fliplr, 5 flipud,
//   6 transpose, 7 fliplr(rot90) (anti-transpose).
// The inverse of k is DihedralInverse(k) (official DIHEDRAL_INVERSE = [0, 3, 2, 1, 4, 5, 6, 7]).
#pragma once

#include <utility>
#include <vector>

namespace trm::puzzle {

inline constexpr int kNumDihedral = 8;

inline int DihedralInverse(int k) {
  constexpr int kInverse[kNumDihedral] = {0, 3, 2, 1, 4, 5, 6, 7};
  return kInverse[k];
}

// Shape after transform k of a rows x cols grid: transforms 1, 3, 6, 7 swap the sides.
inline std::pair<int, int> DihedralShape(int rows, int cols, int k) {
  return (k == 1 || k == 3 || k == 6 || k == 7) ? std::pair{cols, rows} : std::pair{rows, cols};
}

// Where output cell (r, c) of transform k reads from in the input (rows x cols, before).
inline std::pair<int, int> DihedralSource(int rows, int cols, int k, int r, int c) {
  switch (k) {
    case 1:
      return {c, cols - 1 - r};  // rot90: out[r][c] = in[c][cols-1-r]
    case 2:
      return {rows - 1 - r, cols - 1 - c};  // rot180
    case 3:
      return {rows - 1 - c, r};  // rot270: out[r][c] = in[rows-1-c][r]
    case 4:
      return {r, cols - 1 - c};  // fliplr
    case 5:
      return {rows - 1 - r, c};  // flipud
    case 6:
      return {c, r};  // transpose
    case 7:
      return {rows - 1 - c, cols - 1 - r};  // fliplr(rot90)
    default:
      return {r, c};
  }
}

// Applies transform k (0..7) to a row-major rows x cols grid.
template <class T>
std::vector<T> DihedralTransform(const std::vector<T>& cells, int rows, int cols, int k) {
  auto [out_rows, out_cols] = DihedralShape(rows, cols, k);
  std::vector<T> out(cells.size());
  for (int r = 0; r < out_rows; ++r) {
    for (int c = 0; c < out_cols; ++c) {
      auto [sr, sc] = DihedralSource(rows, cols, k, r, c);
      out[r * out_cols + c] = cells[sr * cols + sc];
    }
  }
  return out;
}

}  // namespace trm::puzzle
