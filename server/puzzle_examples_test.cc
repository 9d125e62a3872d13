#include "server/puzzle_examples.h"

#include <gtest/gtest.h>

#include "puzzle/maze.h"
#include "puzzle/maze_solver.h"
#include "puzzle/sudoku.h"

namespace trm::server {
namespace {

engine::ModelInfo Model(const std::string& name, engine::TaskKind task) {
  engine::ModelInfo m;
  m.name = name;
  m.task = task;
  m.maze_side = task == engine::TaskKind::kMaze ? 9 : 0;
  return m;
}

int Givens(const std::string& s) {
  int n = 0;
  for (char c : s) n += c >= '1' && c <= '9';
  return n;
}

TEST(PuzzleExamplesTest, SudokuBandsAndSeeds) {
  const auto model = Model("sudoku", engine::TaskKind::kSudoku);
  const std::pair<const char*, std::pair<int, int>> bands[] = {
      {"easy", {42, 49}}, {"medium", {34, 41}}, {"", {34, 41}}, {"hard", {28, 33}}};
  for (const auto& [difficulty, band] : bands) {
    auto r = ExamplePuzzle(model, difficulty, 7);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->model(), "sudoku");
    ASSERT_EQ(r->sudoku().size(), 81u);
    EXPECT_GE(Givens(r->sudoku()), band.first) << difficulty;
    EXPECT_LE(Givens(r->sudoku()), band.second) << difficulty;
    EXPECT_TRUE(puzzle::ParseValidSudoku(r->sudoku()).ok());
  }
  EXPECT_EQ(ExamplePuzzle(model, "hard", 7)->sudoku(), ExamplePuzzle(model, "hard", 7)->sudoku());
  EXPECT_NE(ExamplePuzzle(model, "hard", 7)->sudoku(), ExamplePuzzle(model, "hard", 8)->sudoku());
}

TEST(PuzzleExamplesTest, MazeOnTheModelsSideWithThePathBand) {
  const auto model = Model("maze", engine::TaskKind::kMaze);
  auto r = ExamplePuzzle(model, "hard", 3);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->maze().rows_size(), 9);
  std::vector<std::string> rows(r->maze().rows().begin(), r->maze().rows().end());
  auto maze = puzzle::ParseMazeRows(rows);
  ASSERT_TRUE(maze.ok());
  EXPECT_GE(puzzle::ShortestMazePathLength(*maze), 21);
}

TEST(PuzzleExamplesTest, OtherKindsAndDifficultiesAreRejected) {
  auto arc = ExamplePuzzle(Model("arc1", engine::TaskKind::kArc), "", 1);
  EXPECT_EQ(arc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(arc.status().message().find("model \"arc1\" serves arc puzzles"), std::string::npos);
  auto bad = ExamplePuzzle(Model("sudoku", engine::TaskKind::kSudoku), "insane", 1);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("use easy, medium or hard"), std::string::npos);
}

}  // namespace
}  // namespace trm::server
