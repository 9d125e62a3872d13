#include "model/eval_tally.h"

#include <gtest/gtest.h>

#include <vector>

namespace trm::model {
namespace {

TEST(EvalTally, ExactCellsHaltingSteps) {
  const std::vector<int32_t> label = {1, 2, -100, 4};
  EvalTally m;
  m.Add(label, std::vector<int32_t>{1, 2, 9, 4}, 0.9f,
        3);  // Exact (ignored cell not scored), confident: halt right.
  m.Add(label, std::vector<int32_t>{1, 0, 0, 4}, 0.9f, 5);  // Wrong, confident: halt wrong.
  m.Add(label, std::vector<int32_t>{0, 0, 0, 0}, 0.1f, 5);  // Wrong, not confident: halt right.
  EXPECT_EQ(m.examples, 3);
  EXPECT_DOUBLE_EQ(m.exact_accuracy(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.cell_accuracy(), 5.0 / 9);
  EXPECT_DOUBLE_EQ(m.halt_accuracy(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.mean_steps(), 13.0 / 3);
  EXPECT_EQ(m.steps_histogram.at(5), 2);
  EXPECT_DOUBLE_EQ(m.halt_precision(), 1.0 / 2);  // Vouched for two, one of them exact.
  EXPECT_DOUBLE_EQ(m.confident_share(), 2.0 / 3);
}

// The official accuracy: each example's share of its own scored cells, then the mean (a pooled
// count would weigh a large maze more than a small one).
TEST(EvalTally, CellAccuracyIsTheMeanOfEachExamplesShare) {
  EvalTally m;
  m.Add(std::vector<int32_t>{1, 2, 3, 4}, std::vector<int32_t>{1, 2, 3, 4}, 0.f, 1);  // 4 of 4.
  m.Add(std::vector<int32_t>{1, -100, -100, -100}, std::vector<int32_t>{0, 0, 0, 0}, 0.f, 1);
  EXPECT_DOUBLE_EQ(m.cell_accuracy(), 0.5);  // Pooled it would be 4 of 5.
}

TEST(EvalTally, HaltingFiguresFollowTheThreshold) {
  const std::vector<int32_t> label = {1, 2};
  EvalTally m;
  m.halt_threshold = 0.95f;
  m.Add(label, std::vector<int32_t>{1, 2}, 0.99f, 2);  // Exact and vouched for.
  m.Add(label, std::vector<int32_t>{1, 0}, 0.9f, 8);  // Wrong; 0.9 would vouch at 0.5, not at 0.95.
  m.Add(label, std::vector<int32_t>{1, 2}, 0.9f, 8);  // Exact but not vouched for: a halting miss.
  EXPECT_DOUBLE_EQ(m.halt_accuracy(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.halt_precision(), 1.0);
  EXPECT_DOUBLE_EQ(m.confident_share(), 1.0 / 3);
}

TEST(EvalTally, NoConfidentAnswersMeansNoPrecision) {
  const std::vector<int32_t> label = {1};
  EvalTally m;
  m.Add(label, std::vector<int32_t>{1}, 0.2f, 8);
  EXPECT_DOUBLE_EQ(m.halt_precision(), 0);
  EXPECT_DOUBLE_EQ(m.confident_share(), 0);
}

}  // namespace
}  // namespace trm::model
