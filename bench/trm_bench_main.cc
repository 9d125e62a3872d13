// trm-bench: the engine's speed in-process (no gRPC), on a checkpoint or on a random-init network
// of the paper's shapes. Prints the command and machine, JSON lines (one per figure) and a short
// table. Modes: fixed (ms per ACT step and puzzles/s at --steps fixed steps for each batch size
// in --batches; the batch-1 row is the latency), mixed (requests that halt after different
// numbers of steps, served with continuous batching and with static batches; their ratio),
// overhead (the engine's step against the forward alone), profile (the fast CPU step's time per
// op, model/step_profile.h), all (fixed and mixed). On the CPU the header also gives the cores'
// measured float32 and bfloat16 peak, and GFLOP/s figures their share of it.
//
//   trm-bench --task=sudoku --hidden=512 --mode=fixed --steps=16 --batches=1,8,64
//   trm-bench --task=sudoku --hidden=128 --mode=mixed --requests=256 --batches=32
//   trm-bench --task=maze --hidden=128 --l_cycles=4 --mode=profile --steps=4 --batches=1,8
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/program_flags.h"
#include "bench/bench_runner.h"
#include "bench/cpu_peak.h"
#include "bench/machine.h"
#include "model/checkpoint.h"
#include "model/puzzle_embedding_fit.h"
#include "model/step_profile.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, checkpoint, "",
          "Checkpoint (own directory or official .pt); empty: random init");
ABSL_FLAG(std::string, task, "sudoku", "Random-init shape: sudoku | maze | arc");
ABSL_FLAG(int, hidden, 512, "hidden_size");
ABSL_FLAG(int, heads, 8, "num_heads");
ABSL_FLAG(int, layers, 2, "L_layers");
ABSL_FLAG(int, h_cycles, 3, "H_cycles");
ABSL_FLAG(int, l_cycles, 6, "L_cycles (the paper: 6 for sudoku, 4 for maze)");
ABSL_FLAG(int, maze_side, 30, "Maze side (seq_len = side^2)");
ABSL_FLAG(int, puzzle_emb_len, 16, "Puzzle-embedding prefix positions (0: none)");
ABSL_FLAG(bool, mlp_t, false,
          "TRM-MLP (sequence-mixing MLP, no attention), the paper's best sudoku");
ABSL_FLAG(std::string, dtype, "float32", "float32 | bfloat16");
ABSL_FLAG(std::string, device, "cpu", "auto | cpu | cuda | cuda:N");
ABSL_FLAG(int, threads, 0, "torch intra-op threads (0: the machine's cores)");
ABSL_FLAG(std::string, cpu_kernels, "auto",
          "The ACT step on the CPU: auto | avx512 | avx2 | reference (libtorch ops) | "
          "avx512_no_bf16_dot, as trm-server's --cpu_kernels");
ABSL_FLAG(std::string, mode, "all",
          "fixed | mixed | overhead (engine step minus the forward alone, per batch) | profile "
          "(the fast CPU step per op) | fit (test-time puzzle-embedding fitting, "
          "model/puzzle_embedding_fit.h) | all (fixed and mixed)");
ABSL_FLAG(int, fit_examples, 40, "Fit mode: demonstration examples (random tokens)");
ABSL_FLAG(int, fit_batches, 24, "Fit mode: batches of a fit");
ABSL_FLAG(int, fit_batch_size, 8, "Fit mode: rows per batch");
ABSL_FLAG(int, fit_act_steps, 2, "Fit mode: ACT steps (updates) per batch");
ABSL_FLAG(int, repeats, 5, "Overhead mode: alternating engine / forward-alone runs per batch");
ABSL_FLAG(int, steps, 16,
          "Fixed, overhead and profile modes: ACT steps per puzzle (ignore_halting)");
ABSL_FLAG(std::string, batches, "1,8,64",
          "Fixed mode: batch sizes; mixed mode: the last is the batch");
ABSL_FLAG(int, requests, 256, "Mixed mode: requests");
ABSL_FLAG(std::string, halt_steps, "uniform:2:16",
          "Mixed mode: each request's halting step, uniform:A:B | geometric:P:MAX | q (the "
          "checkpoint's own Q head)");
ABSL_FLAG(int, warmup_steps, 2, "Untimed ACT steps at each batch size first");
ABSL_FLAG(uint64_t, seed, 1, "Weights and inputs");

namespace trm::bench {
namespace {

struct Row {
  nlohmann::json json;
  std::string table;
};

// A profile's JSON lines (one per op) and its table: each op's time summed over the team, per
// step, its share of the team's time in the step, and for the products their GFLOP/s per core
// against the core's peak. `engine_s_per_step`: the engine's wall time per step around it.
void PrintProfile(const model::fast::StepProfile& p, int batch, double engine_s_per_step,
                  double peak_per_core) {
  using model::fast::StepOp;
  const double steps = static_cast<double>(p.steps);
  const double team = p.thread_seconds / p.step_seconds;
  std::cout << absl::StrFormat(
      "\n### batch %d: %.3f ms per step in the fast step, %.3f ms through the engine, %.0f "
      "threads\n\n| op | calls per step | thread-ms per step | share | GFLOP/s per core | of peak "
      "|\n| --- | --- | --- | --- | --- | --- |\n",
      batch, 1000 * p.step_seconds / steps, 1000 * engine_s_per_step, team);
  double accounted = 0;
  for (int i = 0; i < model::fast::kStepOpCount; ++i) {
    if (p.calls[i] == 0) continue;
    accounted += p.seconds[i];
    const double share = p.seconds[i] / p.thread_seconds;
    const double gflops = p.flops[i] > 0 ? p.flops[i] / p.seconds[i] / 1e9 : 0;
    const char* name = model::fast::StepOpName(static_cast<StepOp>(i));
    nlohmann::json j = {{"kind", "profile"},
                        {"batch", batch},
                        {"op", name},
                        {"calls_per_step", p.calls[i] / steps},
                        {"thread_ms_per_step", 1000 * p.seconds[i] / steps},
                        {"share", share}};
    if (gflops > 0) j["gflop_per_s_per_core"] = gflops;
    std::cout << j.dump() << "\n";
    std::cout << absl::StrFormat("| %s | %.0f | %.3f | %.1f%% | %s | %s |\n", name,
                                 p.calls[i] / steps, 1000 * p.seconds[i] / steps, 100 * share,
                                 gflops > 0 ? absl::StrFormat("%.1f", gflops) : "-",
                                 gflops > 0 && peak_per_core > 0
                                     ? absl::StrFormat("%.0f%%", 100 * gflops / peak_per_core)
                                     : "-");
  }
  // Fork and join of the team, the wait for the slowest thread at the end, untimed code.
  const double rest = p.thread_seconds - accounted;
  std::cout << absl::StrFormat("| rest: fork, join, untimed | - | %.3f | %.1f%% | - | - |\n",
                               1000 * rest / steps, 100 * rest / p.thread_seconds);
  std::cout << std::flush;
}

int Main(int argc, char** argv) {
  if (absl::GetFlag(FLAGS_threads) > 0) torch::set_num_threads(absl::GetFlag(FLAGS_threads));
  const MachineInfo machine = DescribeMachine();
  ShapeOptions shape;
  shape.task = absl::GetFlag(FLAGS_task);
  shape.hidden = absl::GetFlag(FLAGS_hidden);
  shape.heads = absl::GetFlag(FLAGS_heads);
  shape.layers = absl::GetFlag(FLAGS_layers);
  shape.h_cycles = absl::GetFlag(FLAGS_h_cycles);
  shape.l_cycles = absl::GetFlag(FLAGS_l_cycles);
  shape.maze_side = absl::GetFlag(FLAGS_maze_side);
  shape.puzzle_emb_len = absl::GetFlag(FLAGS_puzzle_emb_len);
  shape.mlp_t = absl::GetFlag(FLAGS_mlp_t);
  shape.dtype = absl::GetFlag(FLAGS_dtype);
  absl::StatusOr<TrmConfig> config = ShapeConfig(shape);
  if (!config.ok()) {
    std::cerr << "trm-bench: " << config.status() << "\n";
    return 2;
  }
  std::vector<int> batches;
  for (absl::string_view b : absl::StrSplit(absl::GetFlag(FLAGS_batches), ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(b, &v) || v < 1) {
      std::cerr << "trm-bench: --batches: \"" << b << "\" is not a positive integer\n";
      return 2;
    }
    batches.push_back(v);
  }
  if (batches.empty()) {
    std::cerr << "trm-bench: --batches is empty\n";
    return 2;
  }
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "fixed" && mode != "mixed" && mode != "overhead" && mode != "profile" &&
      mode != "fit" && mode != "all") {
    std::cerr << "trm-bench: --mode \"" << mode
              << "\" is not fixed, mixed, overhead, profile, fit or all\n";
    return 2;
  }
  const auto kernels = model::ParseCpuKernels(absl::GetFlag(FLAGS_cpu_kernels));
  if (!kernels.ok()) {
    std::cerr << "trm-bench: --cpu_kernels: " << kernels.status() << "\n";
    return 2;
  }
  if (absl::Status s = model::CheckCpuKernels(*kernels); !s.ok()) {
    std::cerr << "trm-bench: --cpu_kernels: " << s << "\n";
    return 2;
  }
  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  const std::string device = absl::GetFlag(FLAGS_device);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);

  // The cores' peak as they run now, what every GFLOP/s below is a share of (0: no AVX-512).
  const bool on_cpu = device == "cpu" || (device == "auto" && !torch::cuda::is_available());
  const int threads = torch::get_num_threads();
  const double peak_f32 = on_cpu ? MeasurePeakGflops(false, threads) : 0;
  const double peak_bf16 = on_cpu ? MeasurePeakGflops(true, threads) : 0;
  // The peak a model's fast step can reach: bfloat16 pair dots only for bfloat16 models.
  auto peak_for = [&](const TrmConfig& c) {
    // The peaks are AVX-512's: none is measured for the AVX2 kernels.
    const std::string in_use = model::CpuKernelsInUse(*kernels, c.forward_dtype == "bfloat16");
    if (in_use == "avx2") return 0.0;
    return in_use == "avx512_bf16" && peak_bf16 > 0 ? peak_bf16 : peak_f32;
  };
  auto peak_note = [&](const TrmConfig& c, double gflops) -> std::string {
    const double peak = peak_for(c);
    return peak > 0 ? absl::StrFormat(", %.0f%% of peak", 100 * gflops / peak) : "";
  };

  nlohmann::json header = {{"kind", "machine"},
                           {"command", CommandLine(argc, argv)},
                           {"cpu", machine.cpu},
                           {"cores", machine.cores},
                           {"torch_threads", torch::get_num_threads()},
                           {"load_1m", machine.load_1m},
                           {"device", device},
                           {"cpu_kernels", absl::GetFlag(FLAGS_cpu_kernels)},
                           {"peak_gflop_per_s_float32", peak_f32},
                           {"peak_gflop_per_s_bfloat16", peak_bf16},
                           {"config", checkpoint.empty() ? config->ToJson() : nlohmann::json()},
                           {"checkpoint", checkpoint}};
  std::cout << "# command: " << CommandLine(argc, argv) << "\n"
            << "# machine: " << machine.cpu << ", " << machine.cores << " cores, torch threads "
            << torch::get_num_threads() << ", load " << machine.load_1m << "\n"
            << absl::StrFormat("# peak on %d threads: float32 %.0f GFLOP/s, bfloat16 %.0f\n",
                               threads, peak_f32, peak_bf16)
            << header.dump() << "\n";
  std::vector<std::string> table;
  const std::string task = shape.task;
  // The fixed-step modes' setup: `b` slots under continuous batching and `b` random requests;
  // nullopt (the error printed) when the model cannot be served.
  struct FixedBatch {
    ServedModel served;
    std::vector<std::vector<int32_t>> inputs;
  };
  // `warmup` untimed steps through the engine first.
  auto serve_fixed_batch = [&](int b, int warmup) -> std::optional<FixedBatch> {
    auto served = Serve(checkpoint, *config, task, device, b, b, false, seed, *kernels);
    if (!served.ok()) {
      std::cerr << "trm-bench: " << served.status() << "\n";
      return std::nullopt;
    }
    auto inputs = RandomInputs(b, served->info.seq_len, served->info.vocab_size, seed + b);
    if (warmup > 0) {
      auto warm = RunAll(*served->engine, inputs, std::vector<int>(b, warmup), true);
      if (!warm.ok()) {
        std::cerr << "trm-bench: warm-up: " << warm.status() << "\n";
        return std::nullopt;
      }
    }
    return FixedBatch{*std::move(served), std::move(inputs)};
  };
  // Every request of `fixed` for exactly `steps` ACT steps; nullopt (the error printed) when the
  // run or any request failed.
  auto run_fixed_steps = [](FixedBatch& fixed, int steps,
                            const char* what) -> std::optional<RunStats> {
    const int b = static_cast<int>(fixed.inputs.size());
    auto run = RunAll(*fixed.served.engine, fixed.inputs, std::vector<int>(b, steps), true);
    if (!run.ok() || run->failed > 0) {
      std::cerr << "trm-bench: " << what << " run at batch " << b << " failed: "
                << (run.ok() ? absl::StrCat(run->failed, " requests failed")
                             : run.status().ToString())
                << "\n";
      return std::nullopt;
    }
    return *std::move(run);
  };

  if (mode == "fit") {
    // One fit of a fresh puzzle embedding on random demonstrations (what a task the model never
    // saw costs before its first answer), after an untimed one-batch fit.
    torch::manual_seed(seed);
    model::TrmNet net{nullptr};
    if (checkpoint.empty()) {
      net = model::TrmNet(*config);
    } else {
      auto loaded = model::LoadCheckpoint(checkpoint);
      if (!loaded.ok()) {
        std::cerr << "trm-bench: " << loaded.status() << "\n";
        return 1;
      }
      net = loaded->net;
    }
    const TrmConfig& c = net->config();
    const auto inputs =
        RandomInputs(absl::GetFlag(FLAGS_fit_examples), c.seq_len, c.vocab_size, seed);
    const auto labels =
        RandomInputs(absl::GetFlag(FLAGS_fit_examples), c.seq_len, c.vocab_size, seed + 1);
    std::vector<model::EmbeddingFitExample> examples;
    for (size_t i = 0; i < inputs.size(); ++i) examples.push_back({inputs[i], labels[i]});
    model::EmbeddingFitOptions o;
    o.batches = 1;
    o.batch_size = absl::GetFlag(FLAGS_fit_batch_size);
    o.act_steps = absl::GetFlag(FLAGS_fit_act_steps);
    o.seed = seed;
    if (auto warm = model::FitPuzzleEmbedding(net, examples, o); !warm.ok()) {
      std::cerr << "trm-bench: fit: " << warm.status() << "\n";
      return 1;
    }
    o.batches = absl::GetFlag(FLAGS_fit_batches);
    auto fit = model::FitPuzzleEmbedding(net, examples, o);
    if (!fit.ok()) {
      std::cerr << "trm-bench: fit: " << fit.status() << "\n";
      return 1;
    }
    const double updates = static_cast<double>(fit->losses.size());
    std::cout << nlohmann::json({{"kind", "fit"},
                                 {"batches", o.batches},
                                 {"batch_size", o.batch_size},
                                 {"act_steps", o.act_steps},
                                 {"updates", updates},
                                 {"seconds", fit->seconds},
                                 {"ms_per_update", 1000 * fit->seconds / updates},
                                 {"parameters", c.ParameterCount()}})
                     .dump()
              << "\n"
              << absl::StrFormat(
                     "| fit | hidden %d, seq %d | %d batches x %d rows x %d ACT steps | %.0f "
                     "updates | %.2f s | %.0f ms per update |\n",
                     c.hidden_size, c.seq_len, o.batches, o.batch_size, o.act_steps, updates,
                     fit->seconds, 1000 * fit->seconds / updates);
    return 0;
  }

  if (mode == "fixed" || mode == "all") {
    const int steps = absl::GetFlag(FLAGS_steps);
    for (int b : batches) {
      std::optional<FixedBatch> fixed = serve_fixed_batch(b, absl::GetFlag(FLAGS_warmup_steps));
      if (!fixed) return 1;
      auto& [served, inputs] = *fixed;
      std::optional<RunStats> run = run_fixed_steps(*fixed, steps, "fixed");
      if (!run) return 1;
      // A checkpoint's halt_max_steps caps --steps: count the steps each request ran.
      const int steps_run = static_cast<int>(run->total_steps / b);
      const double ms_per_step = 1000.0 * run->wall_s / steps_run;
      const double pps = b / run->wall_s;
      const double gflops = FlopsPerPuzzleStep(served.model->config) *
                            static_cast<double>(run->total_steps) / run->wall_s / 1e9;
      const bool fast = served.model->runner->last_step_fast();
      nlohmann::json j = {{"kind", "fixed"},
                          {"task", served.info.task == engine::TaskKind::kMaze ? "maze" : task},
                          {"batch", b},
                          {"steps", steps_run},
                          {"ms_per_step", ms_per_step},
                          {"puzzles_per_s", pps},
                          {"gflop_per_s", gflops},
                          {"fast_kernels", fast},
                          {"wall_s", run->wall_s}};
      if (const double peak = peak_for(served.model->config); peak > 0) {
        j["peak_share"] = gflops / peak;
      }
      if (b == 1) j["latency_ms"] = 1000.0 * run->wall_s;
      std::cout << j.dump() << std::endl;
      table.push_back(absl::StrFormat(
          "| fixed %d steps | %d | %.1f | %.2f | %.1f | %s%s%s |", steps_run, b, ms_per_step, pps,
          gflops, fast ? "fast kernels" : "libtorch ops", peak_note(served.model->config, gflops),
          b == 1 ? absl::StrFormat(", latency %.0f ms", 1000.0 * run->wall_s) : ""));
    }
  }

  if (mode == "mixed" || mode == "all") {
    const int b = batches.back();
    const int n = absl::GetFlag(FLAGS_requests);
    const std::string spec = absl::GetFlag(FLAGS_halt_steps);
    auto halt_steps = DrawHaltSteps(spec, n, seed);
    if (!halt_steps.ok()) {
      std::cerr << "trm-bench: " << halt_steps.status() << "\n";
      return 2;
    }
    double wall[2] = {0, 0};
    int64_t row_steps[2] = {0, 0};
    int64_t puzzle_steps[2] = {0, 0};
    TrmConfig served_config;
    std::vector<int> steps_seen[2];
    for (int variant = 0; variant < 2; ++variant) {  // 0 continuous, 1 static.
      auto served = Serve(checkpoint, *config, task, device, b, n, variant == 1, seed, *kernels);
      if (!served.ok()) {
        std::cerr << "trm-bench: " << served.status() << "\n";
        return 1;
      }
      const auto inputs = RandomInputs(n, served->info.seq_len, served->info.vocab_size, seed);
      if (int w = absl::GetFlag(FLAGS_warmup_steps); w > 0) {
        const std::vector<std::vector<int32_t>> few(inputs.begin(),
                                                    inputs.begin() + std::min(n, b));
        (void)RunAll(*served->engine, few, std::vector<int>(few.size(), w), true);
      }
      auto run = RunAll(*served->engine, inputs, *halt_steps, false);
      if (!run.ok() || run->failed > 0) {
        std::cerr << "trm-bench: mixed run failed\n";
        return 1;
      }
      wall[variant] = run->wall_s;
      puzzle_steps[variant] = run->total_steps;
      served_config = served->model->config;
      row_steps[variant] = served->engine->Stats("bench").steps_run;
      steps_seen[variant] = run->steps;
    }
    const double mean_steps =
        std::accumulate(steps_seen[0].begin(), steps_seen[0].end(), 0.0) / std::max(n, 1);
    const bool same_steps = steps_seen[0] == steps_seen[1];
    const double ratio = wall[1] / wall[0];
    // Useful work only: the rows a static batch carries after they finished are not counted.
    const double flops = FlopsPerPuzzleStep(served_config);
    const double gflops[2] = {flops * puzzle_steps[0] / wall[0] / 1e9,
                              flops * puzzle_steps[1] / wall[1] / 1e9};
    nlohmann::json j = {{"kind", "mixed"},
                        {"task", task},
                        {"batch", b},
                        {"requests", n},
                        {"halt_steps", spec},
                        {"mean_steps", mean_steps},
                        {"same_steps_both_ways", same_steps},
                        {"continuous_s", wall[0]},
                        {"static_s", wall[1]},
                        {"continuous_puzzles_per_s", n / wall[0]},
                        {"static_puzzles_per_s", n / wall[1]},
                        {"continuous_batch_steps", row_steps[0]},
                        {"static_batch_steps", row_steps[1]},
                        {"continuous_useful_gflop_per_s", gflops[0]},
                        {"static_useful_gflop_per_s", gflops[1]},
                        {"continuous_over_static", ratio}};
    std::cout << j.dump() << std::endl;
    table.push_back(
        absl::StrFormat("| mixed %s, %d requests | %d | - | %.2f vs %.2f | %.1f vs %.1f (useful) | "
                        "continuous/static %.2fx |",
                        spec, n, b, n / wall[0], n / wall[1], gflops[0], gflops[1], ratio));
  }
  if (mode == "overhead") {
    // The engine's cost per step beyond the network's: the same batch of fixed-step requests
    // through the engine, and the ActStep loop alone on the same tensors, alternating, the
    // median of each.
    const int steps = absl::GetFlag(FLAGS_steps);
    for (int b : batches) {
      std::optional<FixedBatch> fixed = serve_fixed_batch(b, 2);
      if (!fixed) return 1;
      auto& [served, inputs] = *fixed;
      (void)ForwardAloneSecondsPerStep(*served.model, inputs, 2);
      std::vector<double> engine_s, forward_s;
      for (int r = 0; r < std::max(1, absl::GetFlag(FLAGS_repeats)); ++r) {
        std::optional<RunStats> run = run_fixed_steps(*fixed, steps, "overhead");
        if (!run) return 1;
        engine_s.push_back(run->wall_s / steps);
        forward_s.push_back(ForwardAloneSecondsPerStep(*served.model, inputs, steps));
      }
      auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
      };
      const double e = median(engine_s), f = median(forward_s);
      const double gflops = FlopsPerPuzzleStep(served.model->config) * b / e / 1e9;
      nlohmann::json j = {{"kind", "overhead"},
                          {"task", task},
                          {"batch", b},
                          {"steps", steps},
                          {"engine_ms_per_step", 1000 * e},
                          {"forward_ms_per_step", 1000 * f},
                          {"overhead_us_per_step", 1e6 * (e - f)},
                          {"overhead_share", (e - f) / e},
                          {"gflop_per_s", gflops},
                          {"fast_kernels", served.model->runner->last_step_fast()}};
      std::cout << j.dump() << std::endl;
      table.push_back(absl::StrFormat(
          "| overhead, %d steps | %d | %.3f (forward %.3f) | %.2f | %.1f | overhead %.0f us = "
          "%.1f%% |",
          steps, b, 1000 * e, 1000 * f, b / (e * steps), gflops, 1e6 * (e - f), 100 * (e - f) / e));
    }
  }
  if (mode == "profile") {
    const int steps = absl::GetFlag(FLAGS_steps);
    for (int b : batches) {
      std::optional<FixedBatch> fixed = serve_fixed_batch(b, 2);
      if (!fixed) return 1;
      const ServedModel& served = fixed->served;
      model::fast::StepProfile profile;
      served.model->runner->set_step_profile(&profile);
      std::optional<RunStats> run = run_fixed_steps(*fixed, steps, "profile");
      served.model->runner->set_step_profile(nullptr);  // waits for a running step
      if (!run) return 1;
      if (profile.steps == 0) {
        std::cerr << "trm-bench: --mode=profile times the fast CPU step; this model's steps ran "
                     "on libtorch ops (--cpu_kernels, the device or the CPU)\n";
        return 1;
      }
      PrintProfile(profile, b, run->wall_s * b / run->total_steps,
                   peak_for(served.model->config) / threads);
    }
    return 0;
  }
  std::cout << "\n| run | batch | ms/ACT step | puzzles/s | GFLOP/s | note |\n"
            << "| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& line : table) std::cout << line << "\n";
  return 0;
}

}  // namespace
}  // namespace trm::bench

int main(int argc, char** argv) {
  trm::ParseProgramFlags(argc, argv, "Engine speed in-process: trm-bench --task=sudoku --mode=all");
  return trm::bench::Main(argc, argv);
}
