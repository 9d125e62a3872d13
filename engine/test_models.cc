#include "engine/test_models.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <new>
#include <random>
#include <stdexcept>

#include "absl/time/clock.h"
#include "model/checkpoint.h"

namespace trm::engine::testing {

std::string SaveTinyCheckpoint(const std::string& dir, const TinyModelOptions& o) {
  TrmConfig c;
  c.seq_len = o.seq_len;
  c.vocab_size = o.vocab_size;
  c.hidden_size = o.hidden_size;
  c.num_heads = 2;
  c.expansion = 2.0;
  c.H_cycles = 2;
  c.L_cycles = 2;
  c.L_layers = 1;
  c.halt_max_steps = o.halt_max_steps;
  c.num_puzzle_identifiers = std::max<int>(1, o.puzzle_identifiers.size());
  c.puzzle_emb_ndim = o.puzzle_identifiers.empty() ? 0 : o.hidden_size;
  c.puzzle_emb_len = o.puzzle_identifiers.empty() ? 0 : 1;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  torch::manual_seed(o.seed);
  model::TrmNet net(c);
  {
    torch::NoGradGuard no_grad;
    auto params = net->named_parameters();
    params["inner.q_head.bias"].fill_(o.q_bias);
    if (o.q_weight_std > 0) params["inner.q_head.weight"].normal_(0, o.q_weight_std);
    if (!o.puzzle_identifiers.empty()) params["inner.puzzle_emb.weights"].normal_(0, 1);
  }
  model::CheckpointInfo info;
  info.name = "tiny";
  info.config = c;
  info.task = {{"kind", o.kind}};
  info.puzzle_identifiers = o.puzzle_identifiers;
  info.halt_threshold = o.halt_threshold;
  absl::Status s = model::SaveCheckpoint(net, info, dir);
  EXPECT_TRUE(s.ok()) << s;
  return dir;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* made = mkdtemp(buf.data());
  EXPECT_NE(made, nullptr);
  return made ? std::string(made) : std::string();
}

std::vector<std::vector<int32_t>> RandomPuzzles(int count, int seq_len, int vocab_size,
                                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> token(1, vocab_size - 1);
  std::vector<std::vector<int32_t>> out(count, std::vector<int32_t>(seq_len));
  for (auto& p : out) {
    for (auto& t : p) t = token(rng);
  }
  return out;
}

namespace {

[[noreturn]] void Throw(bool out_of_memory) {
  if (out_of_memory) throw std::bad_alloc();
  throw std::runtime_error("scripted step failure");
}

}  // namespace

void ScriptedModel::ResetRows(model::Carry& carry, int64_t begin, int64_t count) const {
  {
    MutexLock lock(&mu_);
    if (fail_admissions_ > 0) {
      --fail_admissions_;
      Throw(out_of_memory_);
    }
  }
  ServingModel::ResetRows(carry, begin, count);
}

void ScriptedModel::ActStepInto(model::Carry& carry, const torch::Tensor& inputs,
                                const torch::Tensor& puzzle_ids, model::StepOutputs& out) const {
  bool echo = false;
  std::set<int32_t> halting;
  {
    MutexLock lock(&mu_);
    const int step = ++steps_;
    if (fail_steps_ > 0) {
      --fail_steps_;
      Throw(out_of_memory_);
    }
    if (step == hold_step_) {
      holding_ = true;
      changed_.SignalAll();
      while (holding_) changed_.Wait(&mu_);
    }
    echo = echo_;
    halting = halting_first_tokens_;
  }
  ServingModel::ActStepInto(carry, inputs, puzzle_ids, out);
  if (echo) {  // Written in place, as the step writes its outputs.
    out.logits.copy_(torch::one_hot(inputs.to(torch::kLong), config.vocab_size));
    auto first = inputs.select(1, 0).to(torch::kCPU, torch::kInt32).contiguous();
    std::vector<float> q(first.size(0));
    for (int64_t i = 0; i < first.size(0); ++i) {
      q[i] = halting.count(first.data_ptr<int32_t>()[i]) ? 10.0f : -10.0f;
    }
    out.q_halt.copy_(torch::tensor(q));
  }
}

void ScriptedModel::EchoInputsAndHaltOnFirstToken(std::set<int32_t> halting_first_tokens) {
  MutexLock lock(&mu_);
  echo_ = true;
  halting_first_tokens_ = std::move(halting_first_tokens);
}

void ScriptedModel::FailAdmissions(int n, bool out_of_memory) {
  MutexLock lock(&mu_);
  fail_admissions_ = n;
  out_of_memory_ = out_of_memory;
}

void ScriptedModel::FailSteps(int n, bool out_of_memory) {
  MutexLock lock(&mu_);
  fail_steps_ = n;
  out_of_memory_ = out_of_memory;
}

void ScriptedModel::HoldStep(int step) {
  MutexLock lock(&mu_);
  hold_step_ = step;
}

bool ScriptedModel::WaitUntilHeld() {
  const absl::Time until = absl::Now() + absl::Minutes(10);  // Bounds only a hang.
  MutexLock lock(&mu_);
  while (!holding_) {
    if (changed_.WaitUntil(&mu_, until)) return holding_;
  }
  return true;
}

void ScriptedModel::Release() {
  MutexLock lock(&mu_);
  holding_ = false;
  hold_step_ = 0;
  changed_.SignalAll();
}

int ScriptedModel::steps_run() const {
  MutexLock lock(&mu_);
  return steps_;
}

}  // namespace trm::engine::testing
