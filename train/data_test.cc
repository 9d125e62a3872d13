#include "train/data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "puzzle/dataset.h"
#include "puzzle/dihedral.h"
#include "train/losses.h"

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
    if (x5->inputs[i] != 1) {
      EXPECT_EQ(x5->inputs[i], x5->labels[i]);
    }
    EXPECT_GE(x5->labels[i], 2);
  }
}

TEST(GeneratorSource, DihedralAugTurnsEachExampleAsAWhole) {
  GeneratorOptions g;
  g.task = "maze";
  g.seed = 11;
  g.maze_side = 9;
  g.maze_min_path = 4;
  auto plain = MakeGeneratorSource(g);
  g.dihedral_aug = true;
  auto turned = MakeGeneratorSource(g);
  ASSERT_TRUE(plain.ok() && turned.ok());
  EXPECT_NE((*turned)->Describe().find("dihedral"), std::string::npos);
  std::set<int> transforms_seen;
  for (int i = 0; i < 40; ++i) {
    auto a = (*plain)->Get(i), b = (*turned)->Get(i);
    ASSERT_TRUE(a.ok() && b.ok());
    // The same maze, puzzle and label turned by one transform k.
    int found = -1;
    for (int k = 0; k < puzzle::kNumDihedral && found < 0; ++k) {
      if (puzzle::DihedralTransform(a->inputs, 9, 9, k) == b->inputs &&
          puzzle::DihedralTransform(a->labels, 9, 9, k) == b->labels) {
        found = k;
      }
    }
    ASSERT_GE(found, 0) << "example " << i << " is not a dihedral transform of the plain one";
    transforms_seen.insert(found);
  }
  // 40 draws of 8 transforms: all but astronomically unlikely to miss more than two.
  EXPECT_GE(transforms_seen.size(), 6u);
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

TEST(DatasetSource, SamplesOnePuzzlePerGroupEachEpochAndMapsIgnoredLabels) {
  // 3 groups; group g has 2 puzzles (augmentations) with id 1 + 2g + k, one example each whose
  // first token says (g, k); label 0 is the ignore id.
  puzzle::DatasetSplit split;
  split.metadata.vocab_size = 10;
  split.metadata.seq_len = 2;
  split.metadata.num_puzzle_identifiers = 7;
  split.metadata.ignore_label_id = 0;
  split.set.seq_len = 2;
  for (int g = 0; g < 3; ++g) {
    for (int k = 0; k < 2; ++k) {
      std::vector<int32_t> in = {g * 2 + k + 1, 9}, label = {0, 5};
      split.set.AddExample(in, label);
      split.set.EndPuzzle(1 + 2 * g + k);
    }
    split.set.EndGroup();
  }
  puzzle::FillDatasetStatistics(split.set, split.metadata);
  const auto dir =
      std::filesystem::temp_directory_path() / ("trm_train_dataset_" + std::to_string(getpid()));
  ASSERT_TRUE(puzzle::WriteDatasetSplit(dir.string(), "train", split).ok());
  auto source = MakeDatasetSource(dir.string(), "train", 1);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->shape().num_puzzle_identifiers, 7);
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::set<int> groups;
    for (int i = 0; i < 3; ++i) {
      auto e = (*source)->Get(epoch * 3 + i);
      ASSERT_TRUE(e.ok());
      const int token = e->inputs[0] - 1;
      groups.insert(token / 2);
      EXPECT_EQ(e->puzzle_id, 1 + token);
      EXPECT_EQ(e->labels[0], kIgnoreLabel);
      EXPECT_EQ(e->labels[1], 5);
    }
    EXPECT_EQ(groups.size(), 3u) << "epoch " << epoch;
  }
  auto missing = MakeDatasetSource((dir / "nope").string(), "train", 1);
  EXPECT_FALSE(missing.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trm::train
