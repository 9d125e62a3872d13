#include "train/ablation.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"
#include "train/run.h"
#include "train/svg_plot.h"

namespace trm::train {

namespace fs = std::filesystem;

std::vector<AblationConfig> SeedAblationConfigs() {
  return {{"baseline", 2, 3, 6, true},
          {"no EMA", 2, 3, 6, false},
          {"less recursion", 2, 2, 2, true},
          {"bigger brain", 4, 3, 3, true}};
}

TrainOptions AblationBase(bool small) {
  // The preset table's two ablation rows (train/options.cc say why each value); every row is
  // checked to resolve by train_test's PresetTable tests.
  TrainOptions o = *BuiltInOptions(small ? "ablation_small" : "ablation");
  o.arch.seq_len = o.data.maze_side * o.data.maze_side;  // A maze's token layout follows its side.
  return o;
}

std::string AblationTable(const std::vector<AblationRow>& rows) {
  std::string s =
      "| config | layers | H_cycles | L_cycles | EMA | initial -> final (min) | improvement | "
      "held-out exact / cell | time |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& r : rows) {
    absl::StrAppendFormat(
        &s, "| %s | %d | %d | %d | %s | %.3f -> %.3f (%.3f) | %.1f%% | %.3f / %.3f | %.0fs |\n",
        r.config.name, r.config.L_layers, r.config.H_cycles, r.config.L_cycles,
        r.config.ema ? "yes" : "no", r.initial, r.final, r.minimum,
        100.0 * (r.initial - r.final) / std::max(r.initial, 1e-12), r.eval_exact, r.eval_cell,
        r.seconds);
  }
  return s;
}

absl::StatusOr<std::vector<AblationRow>> RunAblation(const TrainOptions& base, std::ostream* log) {
  std::vector<AblationRow> rows;
  std::vector<Series> curves;
  for (const auto& c : SeedAblationConfigs()) {
    TrainOptions o = base;
    o.arch.L_layers = c.L_layers;
    o.arch.H_cycles = c.H_cycles;
    o.arch.L_cycles = c.L_cycles;
    o.ema = c.ema;
    std::string folder = c.name;
    std::replace(folder.begin(), folder.end(), ' ', '_');
    o.out_dir = (fs::path(base.out_dir) / folder).string();
    o.resume = false;
    std::error_code ec;
    fs::remove_all(o.out_dir, ec);  // A fresh run each time: the table compares whole runs.
    if (log) *log << "=== ablation: " << c.name << " ===\n";
    RunHooks hooks;
    hooks.log = log;
    auto run = RunTraining(o, hooks);
    if (!run.ok()) return run.status();
    AblationRow row;
    row.config = c;
    row.seconds = run->seconds;
    Series curve{c.name, {}, {}};
    // Epoch e covers steps [e * total / epochs, (e + 1) * total / epochs).
    const size_t total = run->history.size();
    const size_t epochs = static_cast<size_t>(std::max<int64_t>(1, o.epochs));
    for (size_t e = 0; e < epochs; ++e) {
      const size_t from = e * total / epochs, to = (e + 1) * total / epochs;
      if (to <= from) continue;
      double sum = 0;
      for (size_t j = from; j < to; ++j) sum += run->history[j].lm_loss;
      row.epoch_lm_loss.push_back(sum / static_cast<double>(to - from));
    }
    for (const auto& m : run->history) {
      curve.x.push_back(static_cast<double>(m.step) * static_cast<double>(epochs) /
                        static_cast<double>(total));
      curve.y.push_back(m.lm_loss);
    }
    curves.push_back(std::move(curve));
    row.initial = row.epoch_lm_loss.front();
    row.final = row.epoch_lm_loss.back();
    row.minimum = *std::min_element(row.epoch_lm_loss.begin(), row.epoch_lm_loss.end());
    if (!run->evals.empty()) {
      row.eval_exact = run->evals.back().exact_accuracy;
      row.eval_cell = run->evals.back().cell_accuracy;
    }
    rows.push_back(std::move(row));
  }
  const std::string table = AblationTable(rows);
  {
    std::ofstream f(fs::path(base.out_dir) / "ablation.md");
    f << table;
  }
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : rows) {
    j.push_back({{"config", r.config.name},
                 {"L_layers", r.config.L_layers},
                 {"H_cycles", r.config.H_cycles},
                 {"L_cycles", r.config.L_cycles},
                 {"ema", r.config.ema},
                 {"epoch_lm_loss", r.epoch_lm_loss},
                 {"initial", r.initial},
                 {"final", r.final},
                 {"min", r.minimum},
                 {"eval_exact", r.eval_exact},
                 {"eval_cell", r.eval_cell},
                 {"seconds", r.seconds}});
  }
  {
    std::ofstream f(fs::path(base.out_dir) / "ablation.json");
    f << nlohmann::json({{"base", base.ToJson()}, {"rows", j}}).dump(2) << "\n";
  }
  if (auto st = WriteSvg((fs::path(base.out_dir) / "loss_curves.svg").string(),
                         {{"Training lm loss per step (ablation)", "epoch", "loss", curves}});
      !st.ok()) {
    return st;
  }
  if (log) *log << table;
  return rows;
}

}  // namespace trm::train
