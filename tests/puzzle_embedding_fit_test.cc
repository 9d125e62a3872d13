// Test-time fitting of a puzzle embedding (model/puzzle_embedding_fit.h, issue 33 part 2's core)
// on tests/data/arc_tiny and one of its four tasks, its identifier withheld: a fresh embedding
// fitted on the task's demonstration pairs (augmented) with the network frozen. arc_tiny does not
// solve ARC (its card), so this checks the mechanics the issue names (the embedding changes, the
// loss falls, the network is left as it was) and prints how the fitted embedding, a zero one and
// the trained one compare on the held-out test input.
#include "model/puzzle_embedding_fit.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "model/checkpoint.h"
#include "puzzle/arc.h"
#include "puzzle/arc_augment.h"
#include "puzzle/arc_json.h"

namespace trm::model {
namespace {

std::string Fixture(const std::string& name) {
  return std::string(TRM_SOURCE_DIR) + "/tests/data/arc_tiny/" + name;
}

EmbeddingFitExample Encode(const puzzle::ArcGrid& input, const puzzle::ArcGrid& output) {
  EmbeddingFitExample e;
  e.inputs = puzzle::ArcGridToTokens(input);
  e.labels = puzzle::ArcGridToTokens(output);
  for (int32_t& l : e.labels) {
    if (l == puzzle::kArcPadToken) l = -1;  // Outside the grid: unscored, as in training.
  }
  return e;
}

TEST(PuzzleEmbeddingFit, AFreshEmbeddingLearnsATaskWithTheNetworkFrozen) {
  auto ckpt = LoadCheckpoint(Fixture(""));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  TrmNet& net = ckpt->net;
  auto tasks = puzzle::ReadArcTasks(Fixture("arc-agi_training_challenges.json"),
                                    Fixture("arc-agi_training_solutions.json"));
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  const puzzle::ArcTask& task = (*tasks)[0];  // 007bbfb7
  ASSERT_EQ(task.id, "007bbfb7");

  // Its demonstration pairs, each as given and under 7 random augmentations.
  std::vector<EmbeddingFitExample> train;
  std::mt19937_64 rng(7);
  for (const auto& pair : task.train) {
    train.push_back(Encode(pair.input, *pair.output));
    for (int k = 0; k < 7; ++k) {
      const puzzle::ArcAugmentation aug = puzzle::RandomArcAugmentation(rng);
      train.push_back(Encode(aug.Apply(pair.input), aug.Apply(*pair.output)));
    }
  }
  const std::vector<EmbeddingFitExample> test = {Encode(task.test[0].input, *task.test[0].output)};

  StateDict before;  // Copies: StateDictOf gives the live tensors.
  for (const auto& [name, tensor] : StateDictOf(net)) before[name] = tensor.clone();
  EmbeddingFitOptions options;
  options.batches = 24;
  options.batch_size = 8;
  options.act_steps = net->config().halt_max_steps;
  auto fit = FitPuzzleEmbedding(net, train, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_EQ(fit->losses.size(), 24u * options.act_steps);
  ASSERT_EQ(fit->embedding.numel(), net->config().puzzle_emb_ndim);

  // The embedding moved off its zero start, and the loss fell.
  EXPECT_GT(fit->embedding.abs().sum().item<double>(), 0);
  auto mean = [](auto begin, auto end) {
    double s = 0;
    for (auto it = begin; it != end; ++it) s += *it;
    return s / static_cast<double>(end - begin);
  };
  const double first = mean(fit->losses.begin(), fit->losses.begin() + 8);
  const double last = mean(fit->losses.end() - 8, fit->losses.end());
  EXPECT_LT(last, first) << "first 8 updates " << first << ", last 8 " << last;
  // The network is as it was: every tensor equal.
  for (const auto& [name, tensor] : StateDictOf(net)) {
    EXPECT_TRUE(torch::equal(tensor, before.at(name))) << name;
  }

  // On the demonstration pairs the fitted embedding explains more than a zero one.
  const int steps = net->config().halt_max_steps;
  const auto zero = torch::zeros({net->config().puzzle_emb_ndim});
  auto fitted_train = ScorePuzzleEmbedding(net, fit->embedding, train, steps);
  auto zero_train = ScorePuzzleEmbedding(net, zero, train, steps);
  ASSERT_TRUE(fitted_train.ok() && zero_train.ok());
  EXPECT_LT(fitted_train->loss, zero_train->loss);

  // The held-out test input: fitted, zero and the checkpoint's trained embedding (identifier of
  // the task's bare id), reported.
  const auto& ids = ckpt->info.puzzle_identifiers;
  const int trained_id = static_cast<int>(std::find(ids.begin(), ids.end(), task.id) - ids.begin());
  ASSERT_LT(trained_id, static_cast<int>(ids.size()));
  const auto trained = before.at("inner.puzzle_emb.weights")[trained_id];
  auto fitted_test = ScorePuzzleEmbedding(net, fit->embedding, test, steps);
  auto zero_test = ScorePuzzleEmbedding(net, zero, test, steps);
  auto trained_test = ScorePuzzleEmbedding(net, trained, test, steps);
  ASSERT_TRUE(fitted_test.ok() && zero_test.ok() && trained_test.ok());
  std::printf(
      "fit: %zu examples, %zu updates in %.2f s; loss %.3f -> %.3f\n"
      "demonstrations: loss fitted %.3f zero %.3f, cells fitted %.3f zero %.3f\n"
      "test input: loss fitted %.3f zero %.3f trained %.3f; cells fitted %.3f zero %.3f "
      "trained %.3f\n",
      train.size(), fit->losses.size(), fit->seconds, first, last, fitted_train->loss,
      zero_train->loss, fitted_train->cell_accuracy, zero_train->cell_accuracy, fitted_test->loss,
      zero_test->loss, trained_test->loss, fitted_test->cell_accuracy, zero_test->cell_accuracy,
      trained_test->cell_accuracy);
}

TEST(PuzzleEmbeddingFit, BadInputsAreErrors) {
  auto ckpt = LoadCheckpoint(Fixture(""));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_EQ(FitPuzzleEmbedding(ckpt->net, {}, {}).status().message(), "no example to fit on");
  EmbeddingFitExample short_example{{1, 2}, {1, 2}};
  EXPECT_EQ(FitPuzzleEmbedding(ckpt->net, {short_example}, {}).status().message(),
            "example 0: 2 inputs and 2 labels, the model takes 900");
}

}  // namespace
}  // namespace trm::model
