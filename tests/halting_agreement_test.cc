// Training reports the halting the server will have (issue 32): on the same checkpoint and
// puzzles, trm-train's evaluation (Trainer::Evaluate) and the engine trm-server and trm-eval run
// stop every puzzle at the same step with the same answer, so exact accuracy, cell accuracy,
// halting accuracy and mean steps agree, at the threshold the checkpoint is served at.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <string>

#include "engine/engine.h"
#include "model/eval_tally.h"
#include "train/options.h"
#include "train/trainer.h"

namespace trm {
namespace {

namespace fs = std::filesystem;

struct Figures {
  model::EvalTally tally;
  float served_threshold = 0;
};

// What the engine answers for `examples` with the model's own halting (the request names no
// threshold, as a client's does not), tallied as trm-eval tallies it.
Figures ServeAndTally(const std::string& checkpoint, const std::vector<train::Example>& examples) {
  engine::EngineOptions options;
  options.device = "cpu";
  auto engine = engine::Engine::Create(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  EXPECT_TRUE((*engine)->LoadModel("m", checkpoint).ok());
  Figures out;
  auto info = (*engine)->GetModel("m");
  EXPECT_TRUE(info.ok()) << info.status();
  out.served_threshold = info->halt_threshold;
  out.tally.halt_threshold = info->halt_threshold;
  for (const train::Example& ex : examples) {
    std::promise<engine::Result> done;
    engine::Request r;
    r.tokens = ex.inputs;
    r.puzzle_identifier = ex.puzzle_id;
    r.on_done = [&done](engine::Result result) { done.set_value(std::move(result)); };
    EXPECT_TRUE((*engine)->Submit("m", std::move(r)).ok());
    const engine::Result result = done.get_future().get();
    EXPECT_TRUE(result.status.ok()) << result.status;
    out.tally.Add(ex.labels, result.answer_tokens, result.confidence, result.steps);
  }
  return out;
}

TEST(HaltingAgreement, TrainingEvaluationHaltsWhereTheServerDoes) {
  train::TrainOptions o = *train::Preset("tiny");
  o.device = "cpu";
  o.eval_size = 48;
  o.arch.halt_max_steps = 6;
  o.ema = false;  // Evaluation and saving use the live weights, which the test sets below.
  o.halt_threshold = 0.6;  // Served at 0.6: the default 0.5 would stop some puzzles earlier.
  o.out_dir =
      (fs::temp_directory_path() / ("trm_halting_agreement_" + std::to_string(getpid()))).string();
  fs::remove_all(o.out_dir);
  auto trainer = train::Trainer::Create(o);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  {
    // An untrained Q head says -5 everywhere (official init); random weights make each puzzle's
    // confidence cross the threshold at its own step.
    torch::NoGradGuard no_grad;
    torch::manual_seed(7);
    auto params = (*trainer)->net()->named_parameters();
    params["inner.q_head.weight"].normal_(0, 0.08);
    params["inner.q_head.bias"].fill_(0.2);
  }
  auto trained = (*trainer)->Evaluate();
  ASSERT_TRUE(trained.ok()) << trained.status();
  const std::string checkpoint = o.out_dir + "/checkpoint";
  ASSERT_TRUE((*trainer)->Save(checkpoint).ok());

  const Figures served = ServeAndTally(checkpoint, (*trainer)->eval_set());
  EXPECT_FLOAT_EQ(served.served_threshold, 0.6f);  // The checkpoint says what training used.
  EXPECT_FLOAT_EQ(trained->halt_threshold, 0.6f);
  ASSERT_EQ(served.tally.examples, trained->examples);
  EXPECT_DOUBLE_EQ(trained->mean_steps, served.tally.mean_steps());
  EXPECT_DOUBLE_EQ(trained->halt_accuracy, served.tally.halt_accuracy());
  EXPECT_DOUBLE_EQ(trained->exact_accuracy, served.tally.exact_accuracy());
  EXPECT_DOUBLE_EQ(trained->cell_accuracy, served.tally.cell_accuracy());
  // Not a trivial agreement: puzzles stop at different steps, some before the last.
  std::string histogram;
  for (const auto& [steps, count] : served.tally.steps_histogram) {
    histogram += std::to_string(steps) + ":" + std::to_string(count) + " ";
  }
  EXPECT_GT(served.tally.steps_histogram.size(), 1u) << histogram;
  EXPECT_LT(served.tally.mean_steps(), o.arch.halt_max_steps);
  fs::remove_all(o.out_dir);
}

}  // namespace
}  // namespace trm
