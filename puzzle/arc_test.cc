#include "puzzle/arc.h"

#include <gtest/gtest.h>

namespace trm::puzzle {
namespace {

ArcGrid Grid(std::vector<std::vector<int>> rows) { return *ArcGridFromRows(rows); }

TEST(ArcGrid, FromRowsAndErrors) {
  ArcGrid g = Grid({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(g.rows, 2);
  EXPECT_EQ(g.cols, 3);
  EXPECT_EQ(g.at(1, 2), 6);
  EXPECT_EQ(ArcGridToRows(g), (std::vector<std::vector<int>>{{1, 2, 3}, {4, 5, 6}}));
  EXPECT_EQ(ArcGridFromRows({}).error().message, "arc grid: empty");
  EXPECT_EQ(ArcGridFromRows({{}}).error().message, "arc grid: empty");
  EXPECT_EQ(ArcGridFromRows({{1, 2}, {3}}).error().message,
            "arc grid: row 2 has 1 cells, row 1 has 2");
  EXPECT_EQ(ArcGridFromRows({{1}, {12}}).error().message,
            "arc grid: colour 12 at r2c1 is outside 0..9");
  EXPECT_EQ(ArcGridFromRows({{1, -1}}).error().message,
            "arc grid: colour -1 at r1c2 is outside 0..9");
  EXPECT_EQ(ArcGridFromRows(std::vector<std::vector<int>>(31, {0})).error().message,
            "arc grid: 31 rows exceed 30");
  EXPECT_EQ(ArcGridFromRows({std::vector<int>(31, 0)}).error().message,
            "arc grid: 31 columns exceed 30");
}

TEST(ArcGrid, FromCellsAndValidate) {
  std::vector<int32_t> cells = {1, 2, 3, 4};
  auto g = ArcGridFromCells(2, 2, cells);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->at(1, 0), 3);
  EXPECT_EQ(ArcGridFromCells(2, 3, cells).error().message, "arc grid: 4 cells for shape 2x3");
  EXPECT_EQ(ArcGridFromCells(0, 3, cells).error().message, "arc grid: empty (0x3)");
  EXPECT_EQ(ArcGridFromCells(31, 1, cells).error().message, "arc grid: 31 rows exceed 30");
  cells[3] = 10;
  EXPECT_EQ(ArcGridFromCells(2, 2, cells).error().message,
            "arc grid: colour 10 at r2c2 is outside 0..9");
  ArcGrid bad{1, 2, {3, 11}};
  EXPECT_EQ(ValidateArcGrid(bad).error().message, "arc grid: colour 11 at r1c2 is outside 0..9");
  EXPECT_EQ(ValidateArcGrid(ArcGrid{1, 2, {3}}).error().message, "arc grid: 1 cells for shape 1x2");
  EXPECT_TRUE(ValidateArcGrid(Grid({{0}})).ok());
}

TEST(ArcTokens, OfficialLayout) {
  ArcGrid g = Grid({{0, 9, 3}, {4, 5, 6}});
  auto t = ArcGridToTokens(g);
  ASSERT_EQ(t.size(), 900u);
  EXPECT_EQ(t[0], 2);   // colour 0 -> 2
  EXPECT_EQ(t[1], 11);  // colour 9 -> 11
  EXPECT_EQ(t[3], 1);   // end-of-grid column
  EXPECT_EQ(t[30 + 3], 1);
  EXPECT_EQ(t[2 * 30 + 0], 1);  // end-of-grid row
  EXPECT_EQ(t[2 * 30 + 2], 1);
  EXPECT_EQ(t[2 * 30 + 3], 0);  // the corner stays pad
  EXPECT_EQ(t[4], 0);
  EXPECT_EQ(t[899], 0);
  int eos = 0;
  for (int32_t x : t) eos += x == 1;
  EXPECT_EQ(eos, 5);
}

TEST(ArcTokens, TranslatedAndFullFrame) {
  ArcGrid g = Grid({{7}});
  auto t = ArcGridToTokens(g, 3, 4);
  EXPECT_EQ(t[3 * 30 + 4], 9);
  EXPECT_EQ(t[4 * 30 + 4], 1);
  EXPECT_EQ(t[3 * 30 + 5], 1);
  EXPECT_EQ(t[0], 0);
  // A 30x30 grid has no end-of-grid tokens at all.
  ArcGrid full{30, 30, std::vector<uint8_t>(900, 1)};
  auto f = ArcGridToTokens(full);
  for (int32_t x : f) ASSERT_EQ(x, 3);
  EXPECT_EQ(*ArcGridFromTokens(f), full);
  // Touching the right edge: only the row below is marked.
  ArcGrid wide{2, 30, std::vector<uint8_t>(60, 0)};
  auto w = ArcGridToTokens(wide);
  EXPECT_EQ(w[2 * 30 + 29], 1);
  EXPECT_EQ(*ArcGridFromTokens(w), wide);
}

TEST(ArcTokens, RoundTripAllShapes) {
  for (int rows = 1; rows <= 30; ++rows) {
    for (int cols = 1; cols <= 30; cols += 7) {
      ArcGrid g{rows, cols, std::vector<uint8_t>(rows * cols)};
      for (int i = 0; i < rows * cols; ++i) g.cells[i] = static_cast<uint8_t>((i * 7 + rows) % 10);
      auto back = ArcGridFromTokens(ArcGridToTokens(g));
      ASSERT_TRUE(back.ok());
      ASSERT_EQ(*back, g) << rows << "x" << cols;
    }
  }
}

TEST(ArcTokens, CropLikeTheOfficialEvaluator) {
  std::vector<int32_t> t(900, 0);
  EXPECT_EQ(ArcGridFromTokens(t)->rows, 0);  // Nothing to crop: an empty grid.
  // Rows of shrinking width: row 1 has 5 colours, row 2 has 3, row 3 has 3, row 4 none.
  for (int c = 0; c < 5; ++c) t[c] = 2 + c;
  for (int r = 1; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) t[r * 30 + c] = 5;
  }
  // Areas: 1x5 = 5, 2x3 = 6, 3x3 = 9 -> 3x3.
  auto g = ArcGridFromTokens(t);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->rows, 3);
  EXPECT_EQ(g->cols, 3);
  EXPECT_EQ(g->at(0, 2), 2);
  // The column bound never grows again: a wider row 4 still counts only 3 columns.
  for (int c = 0; c < 10; ++c) t[3 * 30 + c] = 3;
  EXPECT_EQ(ArcGridFromTokens(t)->rows, 4);
  EXPECT_EQ(ArcGridFromTokens(t)->cols, 3);
  // Tokens above 11 stop a row like end-of-grid does.
  t[1] = 12;
  EXPECT_EQ(ArcGridFromTokens(t)->cols, 1);
  EXPECT_EQ(ArcGridFromTokens(std::span(t).first(899)).error().message,
            "arc tokens: expected 900 tokens, got 899");
}

}  // namespace
}  // namespace trm::puzzle
