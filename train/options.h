// Everything a training run needs, as one plain struct with the official training script's
// names (config/cfg_pretrain.yaml) where it has one, and the presets that fill it: the paper's
// Sudoku-Extreme (attention and mlp_t), Maze-Hard and ARC-AGI settings, and small CPU presets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/config.h"
#include "nlohmann/json.hpp"
#include "train/data.h"

namespace trm::train {

struct TrainOptions {
  std::string preset;  // What filled the defaults (recorded in provenance).
  TrmConfig arch;      // forward_dtype is chosen from the device unless `dtype` says otherwise.

  // Data: generated (data_dir empty) or an official dataset directory.
  GeneratorOptions data;
  std::string data_dir;
  int64_t train_size = 0;   // Generated only: 0 = fresh puzzles forever; N = a fixed set of N.
  int64_t eval_size = 256;  // Held-out examples (generated with another seed, or the test split).

  // Schedule. total_steps = steps if > 0, else epochs * train_size / global_batch_size.
  int64_t global_batch_size = 768;
  int64_t epochs = 0;
  int64_t steps = 0;
  int64_t eval_interval = 0;        // Steps between evaluations (0: only at the end).
  int64_t checkpoint_interval = 0;  // Steps between checkpoints (0: only at the end).
  int64_t log_interval = 10;        // Steps between progress lines.
  int64_t eval_batch_size = 256;
  // The halting threshold the trained model is served at: written to the checkpoint's
  // serving.halt_threshold, and evaluation halts at it, so the halting accuracy training reports
  // is the one the server will have. 0: none written; both use the engine's default
  // (model::kDefaultHaltThreshold). scripts/calibrate-halting.sh chooses one afterwards.
  double halt_threshold = 0;

  // Optimisation (official names).
  std::string optimizer = "adam_atan2";  // adam_atan2 | adamw
  std::string loss = "stablemax";        // stablemax | softmax
  double lr = 1e-4;
  double lr_min_ratio = 1.0;
  int64_t lr_warmup_steps = 2000;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double weight_decay = 0.1;
  double puzzle_emb_lr = 1e-2;
  double puzzle_emb_weight_decay = 0.1;
  bool ema = true;
  double ema_rate = 0.999;

  uint64_t seed = 0;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string dtype = "auto";   // auto (bfloat16 on CUDA, float32 on CPU) | float32 | bfloat16
  int threads = 0;              // CPU threads for torch (0: torch's default).

  std::string out_dir;    // Checkpoints, metrics.jsonl, curves.svg.
  std::string init_from;  // Weights to start from (any checkpoint LoadCheckpoint reads).
  bool resume = true;     // Continue from out_dir's last checkpoint when there is one.

  nlohmann::json ToJson() const;
  absl::Status Validate() const;
};

// Sets one option (a row of train/option_fields.h: a flag of trm-train, or a field only presets
// set) from its flag syntax, as `--lr=3e-4` does: SetOption(o, "lr", "3e-4"). The error says
// what the value is not ("not an integer"), or that no option has the name.
absl::Status SetOption(TrainOptions& options, absl::string_view name, absl::string_view value);

// Names of the presets --preset offers, for --help.
std::vector<std::string> PresetNames();
// The preset's options; an unknown name is an error listing the known ones.
absl::StatusOr<TrainOptions> Preset(const std::string& name);
// Any row of the preset table, the bases and the ablation's two rows ("ablation",
// "ablation_small") included, which --preset does not offer.
absl::StatusOr<TrainOptions> BuiltInOptions(absl::string_view name);

}  // namespace trm::train
