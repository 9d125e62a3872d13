#include "train/data.h"

#include <gtest/gtest.h>

#include <set>

namespace trm::train {
namespace {

GeneratorOptions EasySudoku() {
  GeneratorOptions g;
  g.task = "sudoku";
  g.seed = 7;
  g.sudoku_min_givens = 45;
  g.sudoku_max_givens = 50;
  return g;
}

TEST(GeneratorSource, ExampleIsAPureFunctionOfTheIndex) {
  auto a = MakeGeneratorSource(EasySudoku());
  auto b = MakeGeneratorSource(EasySudoku());
  ASSERT_TRUE(a.ok() && b.ok());
  auto x5 = (*a)->Get(5), y5 = (*b)->Get(5), x6 = (*a)->Get(6);
  ASSERT_TRUE(x5.ok() && y5.ok() && x6.ok());
  // Out of order on one source, in order on the other: same example.
  EXPECT_EQ(x5->inputs, y5->inputs);
  EXPECT_NE(x5->inputs, x6->inputs);
  EXPECT_EQ((*a)->shape().seq_len, 81);
  // Givens are kept in the solution; blanks (token 1) get a digit.
  ASSERT_EQ(x5->inputs.size(), 81u);
  for (int i = 0; i < 81; ++i) {
    if (x5->inputs[i] != 1) EXPECT_EQ(x5->inputs[i], x5->labels[i]);
    EXPECT_GE(x5->labels[i], 2);
  }
}

TEST(GeneratorSource, RejectsUnknownTasks) {
  GeneratorOptions g;
  g.task = "chess";
  auto s = MakeGeneratorSource(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("chess"), std::string::npos);
}

TEST(PoolSource, EveryEpochIsAFreshPermutation) {
  std::vector<Example> examples;
  for (int i = 0; i < 10; ++i) examples.push_back({{i}, {i}, 0});
  DataShape shape;
  shape.seq_len = 1;
  auto pool = MakePoolSource(examples, shape, 3, "pool");
  std::vector<int> epoch0, epoch1;
  for (int i = 0; i < 10; ++i) epoch0.push_back((*pool->Get(i)).inputs[0]);
  for (int i = 10; i < 20; ++i) epoch1.push_back((*pool->Get(i)).inputs[0]);
  EXPECT_EQ(std::set<int>(epoch0.begin(), epoch0.end()).size(), 10u);
  EXPECT_EQ(std::set<int>(epoch1.begin(), epoch1.end()).size(), 10u);
  EXPECT_NE(epoch0, epoch1);
  // Going back gives the same answer (a resume may).
  EXPECT_EQ((*pool->Get(3)).inputs[0], epoch0[3]);
}

}  // namespace
}  // namespace trm::train
