// Checkpoints: the project's own format and the official training script's.
//
// Own format: a directory holding
//   config.json  {"format": "trm-serve-checkpoint", "version": 1, "arch": TrmConfig,
//                 "task": {"kind": "sudoku"|"maze"|"arc"|"tokens", ...tokenisation},
//                 "puzzle_identifiers": [names...], "provenance": {...}, "name": "..."}
//   model.pt     the weights, a state dict in the official key naming ("inner...."), written
//                with torch::pickle_save so Python's torch.load reads it and the official
//                code can load it unchanged.
// Official: a torch.save'd state dict (keys prefixed "_orig_mod.model.", "model." or
// nothing) with the run's all_config.yaml beside it (and the dataset's dataset.json /
// identifiers.json where they can be found), or with an explicit config JSON.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/config.h"
#include "model/trm_net.h"
#include "nlohmann/json.hpp"

namespace trm::model {

using StateDict = std::map<std::string, torch::Tensor>;

// Everything about a checkpoint except its weights.
struct CheckpointInfo {
  std::string name;  // Model name ("sudoku", ...); defaults to the folder name.
  TrmConfig config;
  nlohmann::json task;  // {"kind": "sudoku"} etc.; kind "tokens" when unknown.
  std::vector<std::string> puzzle_identifiers;  // Index = puzzle id; may be empty.
  nlohmann::json provenance;                    // How it was made (trainer, command, steps, ...).
  std::string source_path;                      // Where it was read from.
  std::string version;                          // Content hash of the weights (short hex).
  // Default halting threshold on sigmoid(q_halt) for requests that name none, calibrated for
  // this model on puzzles it was not evaluated on (config.json "serving": {"halt_threshold"});
  // 0: none (the engine's default, 0.5 = the paper's q_halt_logit > 0).
  float halt_threshold = 0.0f;
  // Default test-time dihedral views for sudoku and maze models ("serving": {"dihedral_views"},
  // 1..8; see engine/dihedral_views.h); 0: none (1 view, the puzzle as given).
  int dihedral_views = 0;
};

struct LoadedCheckpoint {
  CheckpointInfo info;
  TrmNet net{nullptr};
};

struct LoadOptions {
  std::string config_json;  // Explicit official config (parity-style JSON); optional.
  torch::Device device = torch::kCPU;
};

// Reads a state dict written by torch.save / torch::pickle_save. Errors name the file.
absl::StatusOr<StateDict> ReadStateDict(const std::string& path);
// Writes a state dict with torch::pickle_save (readable by Python's torch.load).
absl::Status WriteStateDict(const StateDict& state, const std::string& path);

// Removes a known official prefix ("_orig_mod.model.", "model.") from every key.
StateDict StripOfficialPrefix(const StateDict& state);

// Copies `state` into `net`. Every parameter and buffer must be present with the right
// shape; extra keys are an error. Dtypes are converted (bfloat16 buffers stay bfloat16).
// The message names `origin` and the key at fault.
absl::Status LoadStateDictInto(TrmNet& net, const StateDict& state, const std::string& origin);
// The network's parameters and buffers under their official names.
StateDict StateDictOf(const TrmNet& net);

// Loads either format: a directory with config.json (own), or a .pt file (official).
absl::StatusOr<LoadedCheckpoint> LoadCheckpoint(const std::string& path,
                                                const LoadOptions& options = {});
// Writes the own format into `dir` (created if missing).
absl::Status SaveCheckpoint(const TrmNet& net, const CheckpointInfo& info, const std::string& dir);

}  // namespace trm::model
