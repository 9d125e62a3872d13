// The seed tutorial's ablation reproduced: four configurations trained for a fixed number of
// epochs on the same fixed set of generated hard mazes, compared by their training loss
// (per-epoch mean of the per-example cross-entropy): initial (first epoch), final (last
// epoch), minimum, and the improvement. Also evaluates each saved model on held-out mazes.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "train/options.h"

namespace trm::train {

struct AblationConfig {
  std::string name;
  int L_layers = 2;
  int H_cycles = 3;
  int L_cycles = 6;
  bool ema = true;
};

// baseline, no EMA, less recursion, bigger brain (the seed's table).
std::vector<AblationConfig> SeedAblationConfigs();

struct AblationRow {
  AblationConfig config;
  std::vector<double> epoch_lm_loss;  // Mean lm loss per example, per epoch.
  double initial = 0, final = 0, minimum = 0;
  double eval_exact = 0, eval_cell = 0;  // Saved weights (EMA or live) on held-out mazes.
  double seconds = 0;
};

// The base run (data, size, schedule; out_dir the parent folder) per --small or full size.
TrainOptions AblationBase(bool small);

// Runs every config into <base.out_dir>/<name>/ and writes <base.out_dir>/ablation.md (the
// table), ablation.json and loss_curves.svg (the four loss curves).
absl::StatusOr<std::vector<AblationRow>> RunAblation(const TrainOptions& base, std::ostream* log);

std::string AblationTable(const std::vector<AblationRow>& rows);

}  // namespace trm::train
