// Trainer: the official training loop (pretrain.py + ACTLossHead + the ACT wrapper of trm.py)
// on TrmNet.
//
// Every Step() runs ONE ACT step on the batch. The ACT carry persists across steps: rows that
// halted at the previous step take the next examples of the data sequence (their carry reset to
// H_init / L_init, their step count to 0); the other rows continue from their carry with their
// own example. A row halts when it reaches halt_max_steps or when q_halt > 0 (q_halt >
// q_continue without no_ACT_continue), but not before a random minimum of 2..halt_max_steps
// steps drawn with probability halt_exploration_prob.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/checkpoint.h"
#include "model/step_runner.h"
#include "model/trm_net.h"
#include "nlohmann/json.hpp"
#include "train/communicator.h"
#include "train/data.h"
#include "train/losses.h"
#include "train/optim.h"
#include "train/options.h"

namespace trm::train {

// One training step's figures, normalised as the official script logs them: losses per batch
// row, accuracies per row that halted at this step (count of them in `count`).
struct StepMetrics {
  int64_t step = 0;
  double lr = 0;
  double loss = 0;
  double lm_loss = 0;
  double q_halt_loss = 0;
  double q_continue_loss = 0;
  double count = 0;
  double accuracy = 0;
  double exact_accuracy = 0;
  double q_halt_accuracy = 0;
  double steps = 0;
  int64_t fresh_rows = 0;  // Rows that took a new example at this step.
  // Data-parallel only: seconds this rank spent in the step's collectives (gradient buckets,
  // puzzle-embedding gathers), and the least of that over the ranks. The rank that arrives
  // last waits for nobody, so the least is about the transfer itself; the rest is waiting.
  double comm_seconds = 0;
  double comm_seconds_min = 0;
};

// Held-out evaluation with the engine's halting (a row stops when q_halt > 0 or at
// halt_max_steps), plus the paper's fixed-step mode (every row runs halt_max_steps).
struct EvalMetrics {
  int64_t step = 0;
  int64_t examples = 0;
  double exact_accuracy = 0;  // Whole answer right at the halting step.
  double cell_accuracy = 0;   // Scored cells right at the halting step.
  float halt_threshold = 0;   // Where it halted: the threshold the server will use.
  double halt_accuracy = 0;   // (confidence >= halt_threshold) == whole answer right, at the halt.
  double mean_steps = 0;      // ACT steps used under the engine's halting.
  double exact_accuracy_max_steps = 0;  // Whole answer right after halt_max_steps.
  double seconds = 0;
  nlohmann::json ToJson() const;
};

class Trainer {
 public:
  // Builds the network (seeded), data, optimisers; loads --init_from weights when given. Does
  // not resume: call Restore for that.
  //
  // With `comm` (data-parallel, train/data_parallel.h) this rank keeps rows [rank * B/W,
  // (rank + 1) * B/W) of each global batch of B = global_batch_size rows; gradients, the
  // puzzle-embedding update and the step's metrics are combined over the ranks. Only rank 0
  // keeps the EMA, the held-out set, evaluates and writes checkpoints. Call SyncFromRank0 on
  // every rank before the first step. Without `comm` it is one process, as before.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(const TrainOptions& options,
                                                         Communicator* comm = nullptr);

  // Replaces halted rows with fresh examples (official carry reset), runs one ACT step with
  // gradients, applies the optimisers and the EMA.
  absl::StatusOr<StepMetrics> Step();

  // The first half of Step(), exposed for tests: fills halted rows with the next examples and
  // resets their carry; other rows are untouched.
  absl::Status PrepareBatch();

  // Evaluates the weights used for saving (EMA when enabled) on the held-out set.
  absl::StatusOr<EvalMetrics> Evaluate();

  // Writes the project checkpoint (EMA weights when enabled) plus train_state.pt /
  // train_state.json (live weights, optimiser moments, EMA, carry, batch, step) into `dir`.
  // Data-parallel: every rank calls it (the batch rows are gathered), rank 0 writes; the saved
  // batch is always the whole global batch, so any world size can resume from it.
  absl::Status Save(const std::string& dir, const nlohmann::json& extra_provenance = {});
  // Restores a directory written by Save; the run continues bit for bit (on CPU).
  // Data-parallel: rank 0 alone restores, then SyncFromRank0 hands the state to the others.
  absl::Status Restore(const std::string& dir);
  // Data-parallel, every rank: rank 0's weights, optimiser state, step and batch to all (the
  // official script broadcasts rank 0's parameters the same way).
  absl::Status SyncFromRank0();

  // Mean lm loss per example of one ACT step from a fresh carry on `examples`, with the live
  // weights and no gradient (what a test watches go down).
  absl::StatusOr<double> LossOn(const std::vector<Example>& examples);

  int64_t step() const { return step_; }
  int64_t local_batch() const { return local_batch_; }  // Rows this rank runs.
  int64_t total_steps() const { return total_steps_; }
  const TrainOptions& options() const { return options_; }
  const DataShape& shape() const { return train_->shape(); }
  ExampleSource& train_source() { return *train_; }
  torch::Device device() const { return device_; }

  model::TrmNet& net() { return net_; }
  // The network evaluation and saving use: the EMA copy (puzzle embeddings and buffers synced
  // from the live network, as the official EMA helper leaves them) or the live one.
  model::TrmNet& EvalNet();
  // The threshold the saved checkpoint will be served at (TrainOptions::halt_threshold, else
  // the engine's default); evaluation halts at it.
  float ServingHaltThreshold() const;
  // EvalNet's step runner (EvalNet synced first).
  model::StepRunner& EvalRunner();

  // The held-out examples Evaluate scores (rank 0; empty on the others).
  const std::vector<Example>& eval_set() const { return eval_set_; }

  // Batch state (CPU tensors), for tests and diagnostics.
  const model::Carry& carry() const { return carry_; }
  const torch::Tensor& halted() const { return halted_; }        // [B] bool
  const torch::Tensor& act_steps() const { return act_steps_; }  // [B] int64
  const torch::Tensor& inputs() const { return inputs_; }        // [B, S] int64
  void set_halted_for_testing(const torch::Tensor& halted) { halted_ = halted.clone(); }

 private:
  Trainer() = default;
  std::vector<std::pair<std::string, torch::Tensor>> AdamParams();
  absl::Status InitFrom(const std::string& path);
  // Takes this rank's rows of a whole saved (or broadcast) batch and carry.
  void AdoptBatchRows(model::StateDict& full);
  // Data-parallel: combines the step's gradients over the ranks and applies the puzzle-
  // embedding sign-SGD; returns the seconds spent in collectives.
  absl::StatusOr<double> CombineAndUpdateEmbeddings(const torch::Tensor& puzzle_ids, double plr);

  TrainOptions options_;
  Communicator* comm_ = nullptr;
  int64_t local_batch_ = 0;          // B / world size.
  int64_t row_offset_ = 0;           // This rank's first row in the global batch.
  bool keep_ema_ = false;            // EMA on and this is rank 0 (or the only process).
  model::StateDict restored_batch_;  // Rank 0: the whole batch read by Restore, for the others.
  torch::Device device_{torch::kCPU};
  LossType loss_type_ = LossType::kStablemax;
  model::TrmNet net_{nullptr};
  model::TrmNet ema_net_{nullptr};
  // Their steps without gradient (the bootstrap target, evaluation): the fast CPU kernels where
  // this CPU has them, as the server runs them; repacked when the weights have changed.
  std::unique_ptr<model::StepRunner> runner_, ema_runner_;
  std::vector<torch::Tensor> ema_targets_;  // ema_net_ tensors updated by the EMA...
  std::vector<torch::Tensor> ema_sources_;  // ...from these live ones.
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<ExampleSource> train_;
  std::vector<Example> eval_set_;
  int64_t step_ = 0;
  int64_t total_steps_ = 0;

  bool started_ = false;
  model::Carry carry_;
  torch::Tensor halted_, act_steps_, inputs_, labels_, puzzle_ids_;
};

}  // namespace trm::train
