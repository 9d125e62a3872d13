#include "puzzle/sudoku_solver.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "puzzle/sudoku.h"

namespace trm::puzzle {
namespace {

std::string SharedDir() {
  const char* dir = std::getenv("TRM_SHARED_DIR");
  return dir ? dir : "../shared";
}

TEST(SudokuSolver, SolvesAKnownPuzzleUniquely) {
  auto puzzle = *ParseSudoku(
      "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........");
  auto result = SolveSudoku(puzzle);
  ASSERT_TRUE(result.solved());
  EXPECT_TRUE(result.unique());
  EXPECT_EQ(SudokuToString(result.solution),
            "468931527751624839392578461134756298289413675675289314846192753513867942927345186");
  EXPECT_GT(result.guesses, 0);  // top1465 puzzles need search.
}

TEST(SudokuSolver, EmptyGridHasManySolutions) {
  auto result = SolveSudoku(SudokuGrid{});
  EXPECT_EQ(result.num_solutions, 2);
  EXPECT_FALSE(result.unique());
  EXPECT_TRUE(VerifySudokuAnswer(SudokuGrid{}, result.solution).ok());
  auto one = SolveSudoku(SudokuGrid{}, {.max_solutions = 1});
  EXPECT_EQ(one.num_solutions, 1);
}

TEST(SudokuSolver, ConflictingGivensHaveNoSolution) {
  std::string text(81, '.');
  text[0] = '5';
  text[8] = '5';
  auto result = SolveSudoku(*ParseSudoku(text));
  EXPECT_EQ(result.num_solutions, 0);
  EXPECT_FALSE(result.solved());
}

TEST(SudokuSolver, UnsolvableWithoutDirectConflict) {
  // Row 1 misses only 9 at c9, but column 9 already has a 9 lower down.
  std::string text = "12345678." + std::string(72, '.');
  text[4 * 9 + 8] = '9';
  auto result = SolveSudoku(*ParseSudoku(text));
  EXPECT_EQ(result.num_solutions, 0);
}

TEST(SudokuSolver, MaxGuessesAborts) {
  auto result = SolveSudoku(SudokuGrid{}, {.max_solutions = 1000000, .max_guesses = 5});
  EXPECT_TRUE(result.aborted);
  EXPECT_EQ(result.guesses, 5);
  EXPECT_FALSE(result.unique());
}

// Every puzzle of every shared collection: solved and verified; unique where the collection is
// made of proper puzzles (the serg benchmark is a speed benchmark and holds many puzzles with
// several solutions, which an independent counter confirms: its first puzzle has two).
struct Collection {
  const char* file;
  bool all_unique;
};
void PrintTo(const Collection& c, std::ostream* os) { *os << c.file; }
class SharedCollection : public ::testing::TestWithParam<Collection> {};

TEST_P(SharedCollection, SolvesVerifiesAndFindsUnique) {
  std::string path = SharedDir() + "/data/sudoku/" + GetParam().file;
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  std::string line;
  int count = 0, line_no = 0, unique = 0;
  int64_t guesses = 0, max_guesses = 0;
  auto start = std::chrono::steady_clock::now();
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    auto puzzle = ParseValidSudoku(line);
    ASSERT_TRUE(puzzle.ok()) << path << ":" << line_no << ": " << puzzle.error().message;
    auto result = SolveSudoku(*puzzle);
    ASSERT_TRUE(result.solved()) << path << ":" << line_no;
    if (GetParam().all_unique) {
      ASSERT_TRUE(result.unique())
          << path << ":" << line_no << " solutions " << result.num_solutions;
    }
    unique += result.unique();
    auto verdict = VerifySudokuAnswer(*puzzle, result.solution);
    ASSERT_TRUE(verdict.ok()) << path << ":" << line_no << ": " << verdict.error().message;
    guesses += result.guesses;
    max_guesses = std::max(max_guesses, result.guesses);
    ++count;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(count, 300);
  std::printf(
      "%s: %d puzzles (%d unique) in %.3f s (%.0f/s, unique-check solves), mean guesses %.1f, "
      "max %lld\n",
      GetParam().file, count, unique, seconds, count / seconds, double(guesses) / count,
      static_cast<long long>(max_guesses));
}

INSTANTIATE_TEST_SUITE_P(Data, SharedCollection,
                         ::testing::Values(Collection{"puzzles3_magictour_top1465.txt", true},
                                           Collection{"puzzles6_forum_hardest_1106.txt", true},
                                           Collection{"puzzles7_serg_benchmark.txt", false}),
                         [](const ::testing::TestParamInfo<Collection>& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find('.'));
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace trm::puzzle
