#include "bench/bench_runner.h"

#include <torch/torch.h>

#include <atomic>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "model/checkpoint.h"
#include "model/device.h"
#include "model/fast_step.h"

namespace trm::bench {

absl::StatusOr<TrmConfig> ShapeConfig(const ShapeOptions& o) {
  TrmConfig c;
  if (o.task == "sudoku") {
    c.seq_len = 81;
    c.vocab_size = 11;
  } else if (o.task == "maze") {
    c.seq_len = o.maze_side * o.maze_side;
    c.vocab_size = 6;
  } else if (o.task == "arc") {
    c.seq_len = 900;
    c.vocab_size = 12;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("shape: task \"", o.task, "\" is not sudoku, maze or arc"));
  }
  c.hidden_size = o.hidden;
  c.num_heads = o.heads;
  c.L_layers = o.layers;
  c.H_cycles = o.h_cycles;
  c.L_cycles = o.l_cycles;
  // The paper's runs give every puzzle a learned embedding of hidden_size values in 16 prefix
  // positions (puzzle_emb_ndim = hidden, puzzle_emb_len = 16).
  c.puzzle_emb_ndim = o.puzzle_emb_len > 0 ? o.hidden : 0;
  c.puzzle_emb_len = o.puzzle_emb_len;
  c.num_puzzle_identifiers = 1;
  c.mlp_t = o.mlp_t;
  if (o.mlp_t) c.pos_encodings = "none";  // The official TRM-MLP sudoku run.
  c.forward_dtype = o.dtype;
  c.halt_max_steps = o.halt_max_steps;
  if (absl::Status s = c.Validate(); !s.ok()) return s;
  return c;
}

absl::StatusOr<ServedModel> Serve(const std::string& checkpoint_path, const TrmConfig& config,
                                  const std::string& task, const std::string& device, int max_batch,
                                  int max_queue, bool static_batching, uint64_t seed,
                                  model::CpuKernels kernels) {
  engine::EngineOptions options;
  options.device = device;
  options.scheduler.max_batch_size = max_batch;
  options.scheduler.max_queue_size = max_queue;
  auto engine = engine::CreateEngineInternal(options);
  if (!engine.ok()) return engine.status();
  auto dev = model::ParseDevice(device);
  if (!dev.ok()) return dev.status();
  absl::StatusOr<std::shared_ptr<const engine::ServingModel>> model;
  if (!checkpoint_path.empty()) {
    model = engine::LoadServingModel("bench", checkpoint_path, *dev, kernels);
  } else {
    torch::manual_seed(seed);
    model::TrmNet net(config);
    model::CheckpointInfo info;
    info.name = "bench";
    info.config = config;
    info.task = {{"kind", task}};
    info.version = "random-init";
    info.source_path = "(random init)";
    model = engine::MakeServingModel("bench", net, info, *dev, kernels);
  }
  if (!model.ok()) return model.status();
  engine::SchedulerConfig sc;
  sc.static_batching = static_batching;
  ServedModel out;
  out.info = (*model)->info;
  out.model = *model;
  if (absl::Status s = (*engine)->AddModel("bench", *model, true, sc); !s.ok()) return s;
  out.engine = *std::move(engine);
  return out;
}

double FlopsPerPuzzleStep(const TrmConfig& config) {
  return model::fast::FastStep::FlopsPerPuzzle(config);
}

std::vector<std::vector<int32_t>> RandomInputs(int count, int seq_len, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> token(1, std::max(1, vocab - 1));
  std::vector<std::vector<int32_t>> out(count, std::vector<int32_t>(seq_len));
  for (auto& p : out) {
    for (auto& t : p) t = token(rng);
  }
  return out;
}

absl::StatusOr<std::vector<int>> DrawHaltSteps(const std::string& spec, int count, uint64_t seed) {
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  std::mt19937_64 rng(seed);
  std::vector<int> out(count, 0);
  if (parts.size() == 1 && parts[0] == "q") return out;
  if (parts.size() == 3 && parts[0] == "uniform") {
    int a = 0, b = 0;
    if (absl::SimpleAtoi(parts[1], &a) && absl::SimpleAtoi(parts[2], &b) && 1 <= a && a <= b) {
      std::uniform_int_distribution<int> d(a, b);
      for (int& s : out) s = d(rng);
      return out;
    }
  }
  if (parts.size() == 3 && parts[0] == "geometric") {
    double p = 0;
    int max = 0;
    if (absl::SimpleAtod(parts[1], &p) && absl::SimpleAtoi(parts[2], &max) && p > 0 && p <= 1 &&
        max >= 1) {
      std::geometric_distribution<int> d(p);
      for (int& s : out) s = std::min(max, 1 + d(rng));
      return out;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "halt steps \"", spec, "\": expected uniform:A:B (1 <= A <= B), geometric:P:MAX or q"));
}

absl::StatusOr<RunStats> RunAll(engine::Engine& engine,
                                const std::vector<std::vector<int32_t>>& inputs,
                                const std::vector<int>& max_steps, bool ignore_halting) {
  absl::Mutex mu;
  RunStats stats;
  stats.steps.assign(inputs.size(), 0);
  int done = 0;
  const absl::Time start = absl::Now();
  for (size_t i = 0; i < inputs.size(); ++i) {
    engine::Request r;
    r.tokens = inputs[i];
    r.request_id = absl::StrCat("bench-", i);
    r.halt.max_steps = max_steps.empty() ? 0 : max_steps[i];
    r.halt.ignore_halting = ignore_halting;
    // One row per request, whatever views the checkpoint serves with: a batch of b is b rows.
    r.dihedral_views = 1;
    r.on_done = [&mu, &stats, &done, i](engine::Result res) {
      absl::MutexLock lock(&mu);
      ++done;
      if (res.status.ok()) {
        ++stats.answered;
        stats.steps[i] = res.steps;
        stats.total_steps += res.steps;
      } else {
        ++stats.failed;
      }
    };
    if (absl::Status s = engine.Submit("bench", std::move(r)); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu);
  const int n = static_cast<int>(inputs.size());
  auto all = [&done, n]() { return done == n; };
  mu.Await(absl::Condition(&all));
  stats.wall_s = absl::ToDoubleSeconds(absl::Now() - start);
  return stats;
}

double ForwardAloneSecondsPerStep(const engine::ServingModel& model,
                                  const std::vector<std::vector<int32_t>>& inputs, int steps) {
  c10::InferenceMode inference_mode;
  const int64_t b = static_cast<int64_t>(inputs.size());
  const int64_t seq = model.config.seq_len;
  auto tokens = torch::empty({b, seq}, torch::kInt32);
  for (int64_t i = 0; i < b; ++i) {
    std::copy(inputs[i].begin(), inputs[i].end(), tokens.data_ptr<int32_t>() + i * seq);
  }
  tokens = tokens.to(model.device);
  const auto ids = torch::zeros({b}, torch::TensorOptions(torch::kInt32).device(model.device));
  // Preallocated and written in place, as the engine's fixed slots are.
  model::Carry carry = model.net->InitialCarry(b);
  const auto f32 = torch::TensorOptions(torch::kFloat32).device(model.device);
  model::StepOutputs out{torch::empty({b, seq, model.config.vocab_size}, f32),
                         torch::empty({b}, f32), torch::empty({b}, f32)};
  // On a thread of its own, as the engine's scheduler runs its steps. On the main thread the same
  // loop ran 1.4-1.5x slower at batch 64 with 2 threads (12.0 vs 8.5 ms on the hidden-32 shape;
  // 1 thread: no difference), which made the engine's overhead there look like -50%.
  double seconds = 0;
  std::thread loop([&] {
    c10::InferenceMode inference_mode;
    auto step = [&] {
      model.ActStepInto(carry, tokens, ids, out);
      // The engine's one host copy per step, so the two sides do the same work but the engine's.
      auto y = out.logits.argmax(-1).to(torch::kCPU, torch::kInt32);
      auto q = out.q_halt.to(torch::kCPU, torch::kFloat32);
    };
    // Untimed: a new thread's first steps start its OpenMP team and per-thread scratch, which the
    // engine's long-lived scheduler thread did long before.
    for (int s = 0; s < 2; ++s) step();
    const absl::Time start = absl::Now();
    for (int s = 0; s < steps; ++s) step();
    seconds = absl::ToDoubleSeconds(absl::Now() - start);
  });
  loop.join();
  return seconds / steps;
}

}  // namespace trm::bench
