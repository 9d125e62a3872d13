// ServingModel: one loaded checkpoint as the scheduler runs it. Immutable once built, shared
// (std::shared_ptr<const ServingModel>) between the registry and the rows still running on it,
// so a reload swaps the pointer while in-flight rows finish on the old weights.
// Internal to engine/: sees torch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine_types.h"
#include "model/checkpoint.h"
#include "model/cpu_kernels.h"
#include "model/step_runner.h"

namespace trm::engine {

struct ArcFitState;  // engine/arc_fit.h

struct ServingModel {
  virtual ~ServingModel() = default;

  ModelInfo info;  // is_default is filled by the registry, not here.
  TrmConfig config;
  std::vector<std::string> puzzle_identifiers;  // Index = puzzle id (ARC expansion).
  // Mutable only because the network's methods are non-const (lazy rotary tables); used by one
  // scheduler thread at a time.
  mutable model::TrmNet net{nullptr};
  // Runs net's steps: the fast CPU kernels or the reference (--cpu_kernels, model/step_runner.h).
  std::shared_ptr<model::StepRunner> runner;
  torch::Device device = torch::kCPU;
  // Test-time fitting of ARC tasks it has no puzzle id for (engine/arc_fit.h): set once by the
  // engine before the model serves; null when off or not applicable.
  mutable std::shared_ptr<ArcFitState> arc_fit;

  // What the scheduler runs on the network. Virtual so that an engine test can make them fail
  // (a model whose step or admission throws, as a CUDA out-of-memory would).
  //
  // Rows [begin, begin + count) of `carry` back at H_init / L_init (official reset_carry).
  virtual void ResetRows(model::Carry& carry, int64_t begin, int64_t count) const;
  // One ACT step in place (model::StepRunner::ActStepInto): `carry` becomes the next carry and
  // the tensors of `out` that are defined with the step's shapes are written, not reallocated.
  virtual void ActStepInto(model::Carry& carry, const torch::Tensor& inputs,
                           const torch::Tensor& puzzle_ids, model::StepOutputs& out) const;
};

// Loads `path` (own checkpoint directory or official .pt) onto `device` in eval mode, its CPU
// steps on `kernels`, and fills ModelInfo. Errors name the path.
absl::StatusOr<std::shared_ptr<const ServingModel>> LoadServingModel(
    const std::string& name, const std::string& path, torch::Device device,
    model::CpuKernels kernels = model::CpuKernels::kAuto);

// Wraps a network already in memory (trm-bench's random-init shapes, tests) the way
// LoadServingModel wraps a checkpoint; moves it to `device` in eval mode.
absl::StatusOr<std::shared_ptr<const ServingModel>> MakeServingModel(
    const std::string& name, model::TrmNet net, const model::CheckpointInfo& checkpoint,
    torch::Device device, model::CpuKernels kernels = model::CpuKernels::kAuto);

// TaskKind from a checkpoint's task json ({"kind": ...}); unknown kinds are kTokens.
TaskKind TaskKindFromJson(const nlohmann::json& task);

}  // namespace trm::engine
