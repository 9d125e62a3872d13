#include "bench/bench_runner.h"

#include <gtest/gtest.h>

namespace trm::bench {
namespace {

TEST(ShapeConfig, PaperShapes) {
  auto sudoku = ShapeConfig({});
  ASSERT_TRUE(sudoku.ok()) << sudoku.status();
  EXPECT_EQ(sudoku->FullSeqLen(), 97);  // 81 cells + 16 puzzle-embedding positions.
  EXPECT_EQ(sudoku->hidden_size, 512);
  EXPECT_EQ(sudoku->L_cycles, 6);
  auto maze = ShapeConfig({.task = "maze", .l_cycles = 4});
  ASSERT_TRUE(maze.ok());
  EXPECT_EQ(maze->FullSeqLen(), 916);
  EXPECT_EQ(maze->vocab_size, 6);
  EXPECT_FALSE(ShapeConfig({.task = "chess"}).ok());
  EXPECT_FALSE(ShapeConfig({.hidden = 100, .heads = 8}).ok());
}

TEST(DrawHaltSteps, Distributions) {
  auto u = DrawHaltSteps("uniform:2:5", 1000, 1);
  ASSERT_TRUE(u.ok());
  std::set<int> seen(u->begin(), u->end());
  EXPECT_EQ(seen, (std::set<int>{2, 3, 4, 5}));
  auto g = DrawHaltSteps("geometric:0.5:4", 1000, 1);
  ASSERT_TRUE(g.ok());
  for (int s : *g) EXPECT_TRUE(s >= 1 && s <= 4);
  EXPECT_EQ(*DrawHaltSteps("q", 3, 1), (std::vector<int>{0, 0, 0}));
  EXPECT_FALSE(DrawHaltSteps("uniform:5:2", 3, 1).ok());
  EXPECT_FALSE(DrawHaltSteps("normal:1:2", 3, 1).ok());
}

// Both schedulers answer every request after exactly its drawn number of steps; static batches
// run more batch steps than continuous ones for the same work.
TEST(RunAll, ContinuousAndStaticAgreeOnStepsStaticRunsMoreBatchSteps) {
  auto config = ShapeConfig(
      {.hidden = 32, .heads = 2, .layers = 1, .h_cycles = 1, .l_cycles = 1, .puzzle_emb_len = 0});
  ASSERT_TRUE(config.ok());
  const auto steps = *DrawHaltSteps("uniform:1:12", 24, 3);
  const auto inputs = RandomInputs(24, 81, 11, 3);
  int64_t batch_steps[2];
  for (int variant = 0; variant < 2; ++variant) {
    auto served = Serve("", *config, "sudoku", "cpu", 4, 24, variant == 1, 1);
    ASSERT_TRUE(served.ok()) << served.status();
    auto run = RunAll(*served->engine, inputs, steps, false);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->answered, 24);
    EXPECT_EQ(run->steps, steps);
    batch_steps[variant] = served->engine->Stats("bench").steps_run;
  }
  EXPECT_LT(batch_steps[0], batch_steps[1]);
}

}  // namespace
}  // namespace trm::bench
