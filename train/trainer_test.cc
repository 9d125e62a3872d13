#include "train/trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "model/checkpoint.h"
#include "train/run.h"

namespace trm::train {
namespace {

namespace fs = std::filesystem;

TrainOptions TinyOptions() {
  auto o = *Preset("tiny");
  o.device = "cpu";
  return o;
}

std::string TempDir(const std::string& name) {
  auto dir =
      fs::temp_directory_path() / ("trm_train_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  return dir.string();
}

std::map<std::string, torch::Tensor> Params(model::TrmNet& net) {
  std::map<std::string, torch::Tensor> out;
  for (auto& p : net->named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

TEST(Trainer, AFewStepsLowerTheLossOnAFixedBatch) {
  auto o = TinyOptions();
  o.train_size = 8;  // The batch is the whole (fixed) training set.
  o.global_batch_size = 8;
  o.steps = 40;
  o.lr = 3e-3;
  o.lr_warmup_steps = 1;
  o.ema = false;
  auto t = Trainer::Create(o);
  ASSERT_TRUE(t.ok()) << t.status();
  auto batch = Materialize((*t)->train_source(), 8);
  ASSERT_TRUE(batch.ok());
  auto before = (*t)->LossOn(*batch);
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE((*t)->Step().ok());
  auto after = (*t)->LossOn(*batch);
  ASSERT_TRUE(after.ok());
  EXPECT_LT(*after, *before - 0.1) << "before " << *before << " after " << *after;
}

TEST(Trainer, RowsRunUntilHaltMaxStepsThenAllTakeFreshExamples) {
  auto o = TinyOptions();
  o.arch.halt_exploration_prob = 0;
  auto t = Trainer::Create(o);
  ASSERT_TRUE(t.ok()) << t.status();
  Trainer& tr = **t;
  auto m = tr.Step();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->fresh_rows, o.global_batch_size);  // Official initial carry: all halted.
  // q_head starts at bias -5: nobody halts by Q before halt_max_steps (4).
  for (int s = 2; s <= o.arch.halt_max_steps; ++s) {
    EXPECT_FALSE(tr.halted().any().item<bool>()) << "step " << s;
    m = tr.Step();
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->fresh_rows, 0);
  }
  EXPECT_TRUE(tr.halted().all().item<bool>());
  EXPECT_EQ(m->count, o.global_batch_size);
  EXPECT_DOUBLE_EQ(m->steps, o.arch.halt_max_steps);
}

TEST(Trainer, HaltedRowsAreReplacedAndOthersKeepTheirCarry) {
  auto o = TinyOptions();
  o.global_batch_size = 4;
  auto t = Trainer::Create(o);
  ASSERT_TRUE(t.ok()) << t.status();
  Trainer& tr = **t;
  ASSERT_TRUE(tr.Step().ok());
  ASSERT_TRUE(tr.Step().ok());
  const auto z_h = tr.carry().z_h.clone(), z_l = tr.carry().z_l.clone();
  const auto inputs = tr.inputs().clone();
  const auto steps = tr.act_steps().clone();
  tr.set_halted_for_testing(torch::tensor({true, false, true, false}));
  ASSERT_TRUE(tr.PrepareBatch().ok());
  const auto fresh = tr.net()->InitialCarry(1);
  for (int r : {1, 3}) {
    EXPECT_TRUE(torch::equal(tr.carry().z_h[r], z_h[r])) << r;
    EXPECT_TRUE(torch::equal(tr.carry().z_l[r], z_l[r])) << r;
    EXPECT_TRUE(torch::equal(tr.inputs()[r], inputs[r])) << r;
    EXPECT_EQ(tr.act_steps()[r].item<int64_t>(), steps[r].item<int64_t>());
  }
  for (int r : {0, 2}) {
    EXPECT_TRUE(torch::equal(tr.carry().z_h[r], fresh.z_h[0])) << r;
    EXPECT_TRUE(torch::equal(tr.carry().z_l[r], fresh.z_l[0])) << r;
    EXPECT_EQ(tr.act_steps()[r].item<int64_t>(), 0);
    // The next examples of the data sequence: this step's slice, the row's position.
    auto e = tr.train_source().Get(tr.step() * 4 + r);
    ASSERT_TRUE(e.ok());
    for (int j = 0; j < 81; ++j) ASSERT_EQ(tr.inputs()[r][j].item<int64_t>(), e->inputs[j]);
  }
}

TEST(Trainer, ResumeContinuesBitForBit) {
  auto o = TinyOptions();
  o.arch.puzzle_emb_ndim = 32;  // Exercise sign-SGD state too.
  o.arch.puzzle_emb_len = 1;
  o.arch.halt_exploration_prob = 0.5;
  o.puzzle_emb_lr = 1e-2;
  o.ema_rate = 0.9;
  o.steps = 8;
  auto a = Trainer::Create(o);
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<double> losses_a;
  for (int i = 0; i < 8; ++i) losses_a.push_back((*a)->Step()->loss);

  const std::string dir = TempDir("resume");
  auto b = Trainer::Create(o);
  ASSERT_TRUE(b.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*b)->Step().ok());
  ASSERT_TRUE((*b)->Save(dir).ok());
  auto c = Trainer::Create(o);  // A new process, in effect.
  ASSERT_TRUE(c.ok());
  auto st = (*c)->Restore(dir);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ((*c)->step(), 5);
  for (int i = 5; i < 8; ++i) {
    auto m = (*c)->Step();
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->loss, losses_a[i]) << "step " << i + 1;
  }
  auto pa = Params((*a)->net()), pc = Params((*c)->net());
  for (auto& [k, v] : pa) EXPECT_TRUE(torch::equal(v, pc[k])) << k;
  auto ea = Params((*a)->EvalNet()), ec = Params((*c)->EvalNet());
  for (auto& [k, v] : ea) EXPECT_TRUE(torch::equal(v, ec[k])) << k;
  EXPECT_TRUE(torch::equal((*a)->carry().z_h, (*c)->carry().z_h));
  fs::remove_all(dir);
}

TEST(Trainer, EmaWeightsAreWhatEvaluationAndSavingUse) {
  auto o = TinyOptions();
  o.ema_rate = 0.5;
  o.lr = 1e-2;
  o.lr_warmup_steps = 1;
  auto t = Trainer::Create(o);
  ASSERT_TRUE(t.ok()) << t.status();
  Trainer& tr = **t;
  auto ema = Params(tr.net());  // EMA starts at the initial weights.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(tr.Step().ok());
    for (auto& [k, v] : Params(tr.net())) ema[k] = 0.5 * ema[k] + 0.5 * v;
  }
  auto eval_params = Params(tr.EvalNet());
  auto live = Params(tr.net());
  bool differs = false;
  for (auto& [k, v] : eval_params) {
    EXPECT_TRUE(torch::allclose(v, ema[k], 1e-5, 1e-6)) << k;
    differs = differs || !torch::equal(v, live[k]);
  }
  EXPECT_TRUE(differs);

  // Evaluation reads the EMA copy: disturbing the live weights changes nothing.
  auto before = tr.Evaluate();
  ASSERT_TRUE(before.ok());
  {
    torch::NoGradGuard no_grad;
    for (auto& p : tr.net()->parameters()) p.add_(torch::randn_like(p));
  }
  auto after = tr.Evaluate();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(before->cell_accuracy, after->cell_accuracy);
  EXPECT_EQ(before->mean_steps, after->mean_steps);

  // Saving writes the EMA weights, in a checkpoint the model library (and server) loads.
  const std::string dir = TempDir("ema");
  ASSERT_TRUE(tr.Save(dir).ok());
  auto loaded = model::LoadCheckpoint(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.task["kind"], "sudoku");
  EXPECT_EQ(loaded->info.provenance["trainer"], "trm-train");
  EXPECT_EQ(loaded->info.provenance["weights"], "ema");
  auto saved = Params(loaded->net);
  for (auto& [k, v] : eval_params) EXPECT_TRUE(torch::equal(v, saved[k])) << k;
  fs::remove_all(dir);
}

TEST(RunTraining, WritesMetricsCheckpointAndCurvesAndResumes) {
  auto o = TinyOptions();
  o.steps = 6;
  o.log_interval = 2;
  o.eval_interval = 3;
  o.out_dir = TempDir("run");
  RunHooks hooks;
  hooks.stop_after = 4;
  auto first = RunTraining(o, hooks);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->final_step, 4);
  // Stopped early, the run still has its plot (drawn with the checkpoint).
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "curves.svg"));
  fs::remove(fs::path(o.out_dir) / "curves.svg");
  auto second = RunTraining(o, {});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->steps_done, 2);  // Resumed at step 4.
  EXPECT_EQ(second->final_step, 6);
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "curves.svg"));
  std::ifstream latest(fs::path(o.out_dir) / "LATEST");
  std::string name;
  std::getline(latest, name);
  EXPECT_EQ(name, "step_00000006");
  std::ifstream metrics(fs::path(o.out_dir) / "metrics.jsonl");
  int train_lines = 0, eval_lines = 0;
  for (std::string line; std::getline(metrics, line);) {
    auto j = nlohmann::json::parse(line);
    (j["kind"] == "eval" ? eval_lines : train_lines)++;
  }
  EXPECT_EQ(train_lines, 3);  // Steps 2, 4, 6.
  EXPECT_EQ(eval_lines, 2);   // Steps 3, 6.
  fs::remove_all(o.out_dir);
}

TEST(Trainer, RejectsBadOptionsWithTheFieldName) {
  auto o = TinyOptions();
  o.global_batch_size = 0;
  auto t = Trainer::Create(o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("global_batch_size"), std::string::npos);
  o = TinyOptions();
  o.optimizer = "sgd";
  t = Trainer::Create(o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("sgd"), std::string::npos);
}

}  // namespace
}  // namespace trm::train
