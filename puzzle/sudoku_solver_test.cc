#include "puzzle/sudoku_solver.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "base/test_data.h"
#include "puzzle/puzzle_file.h"
#include "puzzle/sudoku.h"

namespace trm::puzzle {
namespace {

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

// Every puzzle of every collection: solved and verified; unique where the collection is made of
// proper puzzles (the serg benchmark is a speed benchmark and holds many puzzles with several
// solutions, which an independent counter confirms: its first puzzle has two). The shared
// collections are the real ones; tests/data's is made by `trm-data generate` and holds its
// solutions beside it, so a clone without ../shared still checks the solver on hard puzzles.
struct Collection {
  bool shared;  // ../shared/data/sudoku, else tests/data/sudoku.
  const char* file;
  bool all_unique;
  int min_count;
};
void PrintTo(const Collection& c, std::ostream* os) { *os << c.file; }

void SolveVerifyAndFindUnique(const Collection& c) {
  const std::filesystem::path path =
      (c.shared ? test_data::SharedDir() / "data" : test_data::TestDataDir()) / "sudoku" / c.file;
  if (c.shared) TRM_SKIP_WITHOUT_SHARED(path);
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  // A collection of our own has FILE.solutions.txt: one solution per puzzle, in order.
  std::vector<PuzzleRecord> known;
  if (!c.shared) {
    auto solutions = ReadTextFile(path.string() + ".solutions.txt");
    ASSERT_TRUE(solutions.ok()) << solutions.error().message;
    known = SplitSudokuFile(*solutions);
  }
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
    if (c.all_unique) {
      ASSERT_TRUE(result.unique())
          << path << ":" << line_no << " solutions " << result.num_solutions;
    }
    unique += result.unique();
    auto verdict = VerifySudokuAnswer(*puzzle, result.solution);
    ASSERT_TRUE(verdict.ok()) << path << ":" << line_no << ": " << verdict.error().message;
    if (!c.shared) {
      ASSERT_LT(count, static_cast<int>(known.size())) << "more puzzles than solutions";
      auto solution = ParseSudoku(known[count].text);
      ASSERT_TRUE(solution.ok()) << solution.error().message;
      EXPECT_EQ(result.solution, *solution) << path << ":" << line_no;
    }
    guesses += result.guesses;
    max_guesses = std::max(max_guesses, result.guesses);
    ++count;
  }
  if (!c.shared) EXPECT_EQ(count, static_cast<int>(known.size())) << "fewer puzzles than solutions";
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(count, c.min_count);
  std::printf(
      "%s: %d puzzles (%d unique) in %.3f s (%.0f/s, unique-check solves), mean guesses %.1f, "
      "max %lld\n",
      c.file, count, unique, seconds, count / seconds, double(guesses) / count,
      static_cast<long long>(max_guesses));
}

std::string CollectionName(const ::testing::TestParamInfo<Collection>& info) {
  std::string name = info.param.file;
  name = name.substr(0, name.find('.'));
  for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

class SharedCollection : public ::testing::TestWithParam<Collection> {};
TEST_P(SharedCollection, SolvesVerifiesAndFindsUnique) { SolveVerifyAndFindUnique(GetParam()); }
INSTANTIATE_TEST_SUITE_P(
    Data, SharedCollection,
    ::testing::Values(Collection{true, "puzzles3_magictour_top1465.txt", true, 300},
                      Collection{true, "puzzles6_forum_hardest_1106.txt", true, 300},
                      Collection{true, "puzzles7_serg_benchmark.txt", false, 300}),
    CollectionName);

class BundledCollection : public ::testing::TestWithParam<Collection> {};
TEST_P(BundledCollection, SolvesVerifiesAndFindsUnique) { SolveVerifyAndFindUnique(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Data, BundledCollection,
                         ::testing::Values(Collection{false, "generated_hard.txt", true, 30}),
                         CollectionName);

}  // namespace
}  // namespace trm::puzzle
