#include "engine/serving_model.h"

#include <algorithm>
#include <exception>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/dihedral_views.h"

namespace trm::engine {

void ServingModel::ResetRows(model::Carry& carry, int64_t begin, int64_t count) const {
  net->ResetCarryRows(carry, begin, count);
}

void ServingModel::ActStepInto(model::Carry& carry, const torch::Tensor& inputs,
                               const torch::Tensor& puzzle_ids, model::StepOutputs& out) const {
  runner->ActStepInto(carry, inputs, puzzle_ids, out);
}

TaskKind TaskKindFromJson(const nlohmann::json& task) {
  if (!task.is_object() || !task.contains("kind") || !task["kind"].is_string()) {
    return TaskKind::kTokens;
  }
  const std::string kind = task["kind"].get<std::string>();
  if (kind == "sudoku") return TaskKind::kSudoku;
  if (kind == "maze") return TaskKind::kMaze;
  if (kind == "arc") return TaskKind::kArc;
  return TaskKind::kTokens;
}

absl::StatusOr<std::shared_ptr<const ServingModel>> LoadServingModel(const std::string& name,
                                                                     const std::string& path,
                                                                     torch::Device device,
                                                                     model::CpuKernels kernels) {
  model::LoadOptions options;
  options.device = device;
  absl::StatusOr<model::LoadedCheckpoint> loaded = model::LoadCheckpoint(path, options);
  if (!loaded.ok()) return loaded.status();
  return MakeServingModel(name, loaded->net, loaded->info, device, kernels);
}

absl::StatusOr<std::shared_ptr<const ServingModel>> MakeServingModel(
    const std::string& name, model::TrmNet net, const model::CheckpointInfo& ci,
    torch::Device device, model::CpuKernels kernels) {
  auto m = std::make_shared<ServingModel>();
  try {
    m->net = net;
    m->net->eval();
    m->net->to(device);
    m->runner = model::MakeStepRunner(m->net, kernels);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model ", name, ": ", e.what()));
  }
  m->config = ci.config;
  m->device = device;
  m->puzzle_identifiers = ci.puzzle_identifiers;
  ModelInfo& info = m->info;
  info.name = name;
  info.version = ci.version;
  info.task = TaskKindFromJson(ci.task);
  info.seq_len = ci.config.seq_len;
  info.vocab_size = ci.config.vocab_size;
  info.halt_max_steps = ci.config.halt_max_steps;
  info.num_puzzle_identifiers = ci.config.num_puzzle_identifiers;
  info.device = device.str();
  if (device.is_cpu()) {
    info.cpu_kernels = m->runner->kernels_in_use();
  }
  info.parameters = ci.config.ParameterCount();
  info.path = ci.source_path;
  info.halt_threshold = ci.halt_threshold;  // 0 (none) is resolved by the engine.
  if (info.task == TaskKind::kMaze && ci.task.contains("side") && ci.task["side"].is_number()) {
    info.maze_side = ci.task["side"].get<int>();
  }
  info.dihedral_views = std::max(ci.dihedral_views, 1);
  if (info.dihedral_views > 1) {
    if (auto side = DihedralGridSide(info); !side.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("model ", name, ": ", ci.source_path, ": ", side.status().message()));
    }
  }
  return std::shared_ptr<const ServingModel>(std::move(m));
}

}  // namespace trm::engine
