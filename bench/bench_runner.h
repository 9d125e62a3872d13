// What trm-bench measures, as functions over the engine (in-process, no gRPC): fixed-step
// throughput per batch size, batch-1 latency, and a mixed workload whose requests halt after
// different numbers of steps, served with continuous batching and with static batches.
// Sees torch (it builds random-init networks); bench/ is allowed to.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine_internal.h"
#include "model/config.h"
#include "model/cpu_kernels.h"
#include "model/trm_net.h"

namespace trm::bench {

// A network shape by task, the paper's defaults where flags leave them (hidden 512, 8 heads,
// 2 layers, puzzle-embedding prefix 16; sudoku H3 L6 over 81 cells, maze H3 L4 over 30x30).
struct ShapeOptions {
  std::string task = "sudoku";  // sudoku | maze | arc | tokens
  int hidden = 512;
  int heads = 8;
  int layers = 2;
  int h_cycles = 3;
  int l_cycles = 6;
  int maze_side = 30;
  int puzzle_emb_len = 16;
  bool mlp_t = false;
  std::string dtype = "float32";
  int halt_max_steps = 16;
};
absl::StatusOr<TrmConfig> ShapeConfig(const ShapeOptions& options);

// An engine serving one model named "bench" with the given scheduler variant: either the
// checkpoint at `checkpoint_path` or a random-init network of `config` (seeded), its ACT step on
// `kernels` (model/cpu_kernels.h: the fast CPU kernels or the libtorch reference).
struct ServedModel {
  std::unique_ptr<engine::EngineInternal> engine;
  engine::ModelInfo info;
  // What the engine runs; its runner tells which path the steps took (last_step_fast).
  std::shared_ptr<const engine::ServingModel> model;
};
absl::StatusOr<ServedModel> Serve(const std::string& checkpoint_path, const TrmConfig& config,
                                  const std::string& task, const std::string& device, int max_batch,
                                  int max_queue, bool static_batching, uint64_t seed,
                                  model::CpuKernels kernels = model::CpuKernels::kAuto);

// Floating-point operations of one ACT step for one puzzle of `config` (multiply-add = 2): the
// matrix products and attention, not the elementwise passes. For achieved GFLOP/s.
double FlopsPerPuzzleStep(const TrmConfig& config);

// Random puzzles in the model's vocabulary (tokens 1..vocab-1).
std::vector<std::vector<int32_t>> RandomInputs(int count, int seq_len, int vocab, uint64_t seed);

// Halting steps for the mixed workload: "uniform:A:B" (integers A..B) or "geometric:P:MAX"
// (1 + Geometric(P), capped at MAX) or "q" (the model's own Q head: 0 everywhere).
absl::StatusOr<std::vector<int>> DrawHaltSteps(const std::string& spec, int count, uint64_t seed);

struct RunStats {
  double wall_s = 0;
  int answered = 0;
  int failed = 0;
  int64_t total_steps = 0;  // Sum of every request's ACT steps.
  std::vector<int> steps;   // Per request.
};

// Submits every input at once (max_steps[i] > 0: that request runs until the Q head says stop
// or max_steps[i]; ignore_halting makes it exactly max_steps[i]) and waits for all answers.
// Each request is one view (one batch row), whatever the checkpoint serves with.
absl::StatusOr<RunStats> RunAll(engine::Engine& engine,
                                const std::vector<std::vector<int32_t>>& inputs,
                                const std::vector<int>& max_steps, bool ignore_halting);

// The network's ACT step alone, as the engine runs it but without the engine: `steps` steps of a
// batch of `inputs` (tokens; puzzle id 0) from the initial carry, then y and q_halt copied to the
// host as the engine does. Returns the wall seconds per step.
double ForwardAloneSecondsPerStep(const engine::ServingModel& model,
                                  const std::vector<std::vector<int32_t>>& inputs, int steps);

}  // namespace trm::bench
