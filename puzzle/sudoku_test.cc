#include "puzzle/sudoku.h"

#include <gtest/gtest.h>

namespace trm::puzzle {
namespace {

// A valid puzzle (from top1465) and its unique solution.
constexpr char kPuzzle[] =
    "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........";
constexpr char kSolution[] =
    "468931527751624839392578461134756298289413675675289314846192753513867942927345186";

TEST(SudokuParse, AcceptsDotsAndZeros) {
  auto a = ParseSudoku(kPuzzle);
  ASSERT_TRUE(a.ok()) << a.error().message;
  std::string zeros = kPuzzle;
  for (char& c : zeros) c = c == '.' ? '0' : c;
  auto b = ParseSudoku(zeros);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->at(0, 0), 4);
  EXPECT_EQ(a->at(0, 1), 0);
  EXPECT_EQ(a->givens(), 18);
  EXPECT_EQ(SudokuToString(*a), kPuzzle);
}

TEST(SudokuParse, AcceptsPastedGrid) {
  auto grid = ParseSudoku(kPuzzle);
  ASSERT_TRUE(grid.ok());
  std::string pretty = SudokuToPrettyString(*grid);
  EXPECT_NE(pretty.find('|'), std::string::npos);
  EXPECT_NE(pretty.find('+'), std::string::npos);
  auto back = ParseSudoku("\r\n" + pretty + "\t");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, *grid);
}

TEST(SudokuParse, BadCharacterNamesCharacterAndPosition) {
  std::string text = kPuzzle;
  text[17] = 'x';
  auto r = ParseSudoku(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "sudoku: bad character 'x' at position 17");
  text[17] = '\x01';
  EXPECT_EQ(ParseSudoku(text).error().message, "sudoku: bad character '\\x01' at position 17");
}

TEST(SudokuParse, WrongLength) {
  std::string text = kPuzzle;
  EXPECT_EQ(ParseSudoku(text.substr(0, 80)).error().message, "sudoku: expected 81 cells, got 80");
  EXPECT_EQ(ParseSudoku(text + "1").error().message, "sudoku: expected 81 cells, got 82");
  EXPECT_EQ(ParseSudoku("").error().message, "sudoku: expected 81 cells, got 0");
}

TEST(SudokuFromCells, ChecksSizeAndRange) {
  std::vector<int32_t> cells(81, 0);
  cells[10] = 5;
  auto g = SudokuFromCells(cells);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->at(1, 1), 5);
  cells[10] = 10;
  EXPECT_EQ(SudokuFromCells(cells).error().message, "sudoku: value 10 at r2c2 is outside 0..9");
  cells.pop_back();
  EXPECT_EQ(SudokuFromCells(cells).error().message, "sudoku: expected 81 cells, got 80");
}

TEST(SudokuValidate, NamesBothCellsForRowColumnBox) {
  std::string row(81, '.');
  row[2 * 9 + 1] = '5';
  row[2 * 9 + 7] = '5';
  EXPECT_EQ(ParseValidSudoku(row).error().message,
            "sudoku: digit 5 appears twice in row 3 (r3c2 and r3c8)");
  std::string col(81, '.');
  col[0 * 9 + 4] = '7';
  col[8 * 9 + 4] = '7';
  EXPECT_EQ(ParseValidSudoku(col).error().message,
            "sudoku: digit 7 appears twice in column 5 (r1c5 and r9c5)");
  std::string box(81, '.');
  box[3 * 9 + 3] = '2';
  box[5 * 9 + 4] = '2';
  EXPECT_EQ(ParseValidSudoku(box).error().message,
            "sudoku: digit 2 appears twice in box 5 (r4c4 and r6c5)");
  EXPECT_TRUE(ParseValidSudoku(kPuzzle).ok());
  EXPECT_EQ(ParseValidSudoku("12").error().message, "sudoku: expected 81 cells, got 2");
}

TEST(SudokuVerify, AcceptsSolutionAndRejectsEachFault) {
  auto puzzle = *ParseSudoku(kPuzzle);
  auto solution = *ParseSudoku(kSolution);
  EXPECT_TRUE(VerifySudokuAnswer(puzzle, solution).ok());

  SudokuGrid blank = solution;
  blank.cells[3] = 0;
  EXPECT_EQ(VerifySudokuAnswer(puzzle, blank).error().message, "sudoku answer: cell r1c4 is blank");

  // Swapping two digits in a row keeps the row valid but breaks a given or a column.
  SudokuGrid changed = solution;
  std::swap(changed.cells[0], changed.cells[1]);  // r1c1 is given 4.
  EXPECT_EQ(VerifySudokuAnswer(puzzle, changed).error().message,
            "sudoku answer: cell r1c1 is 6 but the puzzle gives 4");

  SudokuGrid empty_puzzle;
  SudokuGrid dup = solution;
  std::swap(dup.cells[1], dup.cells[2]);  // r1c2 <-> r1c3: columns 2 and 3 now repeat.
  EXPECT_EQ(VerifySudokuAnswer(empty_puzzle, dup).error().message,
            "sudoku answer: digit 8 appears twice in column 2 (r1c2 and r5c2)");

  SudokuGrid bad = solution;
  bad.cells[80] = 11;
  EXPECT_EQ(VerifySudokuAnswer(puzzle, bad).error().message, "sudoku answer: cell r9c9 holds 11");
}

TEST(SudokuTokens, OfficialLayoutAndRoundTrip) {
  auto puzzle = *ParseSudoku(kPuzzle);
  auto tokens = SudokuToTokens(puzzle);
  ASSERT_EQ(tokens.size(), 81u);
  EXPECT_EQ(tokens[0], 5);  // digit 4 -> 5
  EXPECT_EQ(tokens[1], 1);  // blank -> 1
  auto back = SudokuFromTokens(tokens);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, puzzle);
  auto solution = *ParseSudoku(kSolution);
  EXPECT_EQ(*SudokuFromTokens(SudokuToTokens(solution)), solution);
  for (int32_t t : SudokuToTokens(solution)) {
    EXPECT_GE(t, 2);
    EXPECT_LE(t, 10);
  }
}

TEST(SudokuTokens, DecodeErrorsAndPad) {
  std::vector<int32_t> tokens(81, 0);  // pad decodes as blank
  auto g = SudokuFromTokens(tokens);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->givens(), 0);
  tokens[5] = 12;
  EXPECT_EQ(SudokuFromTokens(tokens).error().message,
            "sudoku tokens: token 12 at position 5 is outside 0..10");
  tokens[5] = -1;
  EXPECT_EQ(SudokuFromTokens(tokens).error().message,
            "sudoku tokens: token -1 at position 5 is outside 0..10");
  tokens.resize(80);
  EXPECT_EQ(SudokuFromTokens(tokens).error().message, "sudoku tokens: expected 81 tokens, got 80");
}

}  // namespace
}  // namespace trm::puzzle
