// The optimisers and schedule of the official training script (pretrain.py):
//  - Adam with decoupled weight decay, in two flavours: AdamATan2 (the paper's; the update is
//    atan2(m_hat, sqrt(v_hat)), which needs no epsilon and is bounded) and plain AdamW;
//  - sign-SGD with decoupled weight decay for the puzzle-embedding table, touching only the
//    rows that appeared in the batch (official CastedSparseEmbeddingSignSGD);
//  - linear warm-up then cosine decay to lr * min_ratio;
//  - an exponential moving average of the weights.
// State is kept as named tensors so a checkpoint can carry it and a resumed run continues
// bit for bit.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace trm::train {

using NamedTensors = std::map<std::string, torch::Tensor>;

enum class OptimizerKind { kAdamAtan2, kAdamW };
absl::StatusOr<OptimizerKind> ParseOptimizerKind(const std::string& name);  // adam_atan2|adamw
const char* OptimizerKindName(OptimizerKind kind);

struct AdamOptions {
  OptimizerKind kind = OptimizerKind::kAdamAtan2;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double weight_decay = 0.1;
  double eps = 1e-8;  // AdamW only.
};

class Adam {
 public:
  // `params`: (name, tensor) pairs; the tensors' .grad() is read at Step.
  Adam(std::vector<std::pair<std::string, torch::Tensor>> params, AdamOptions options);

  // One update at learning rate `lr`; parameters without a gradient are left alone.
  void Step(double lr);
  void ZeroGrad();

  int64_t step_count() const { return step_count_; }
  // Moments as "exp_avg.<name>" / "exp_avg_sq.<name>" plus "step" (a 1-element int64).
  NamedTensors State() const;
  // Restores State(); every moment must be present with the right shape.
  absl::Status LoadState(const NamedTensors& state);

 private:
  struct Slot {
    std::string name;
    torch::Tensor param;
    torch::Tensor exp_avg;
    torch::Tensor exp_avg_sq;
  };
  std::vector<Slot> slots_;
  AdamOptions options_;
  int64_t step_count_ = 0;
};

// Sign-SGD on the rows of `weights` ([N, D]) whose gradient rows are in `grad` ([N, D], dense,
// zero elsewhere) and whose ids are `ids` (the batch's puzzle ids, any shape, repeats
// allowed). Each touched row: w <- w * (1 - lr * weight_decay) - lr * sign(g). Rows not in
// `ids` are unchanged (no decay either), as the official sparse optimiser.
void SignSgdRows(torch::Tensor& weights, const torch::Tensor& grad, const torch::Tensor& ids,
                 double lr, double weight_decay);

// The update itself, on the rows `rows` (distinct, int64) of `weights` given their summed
// gradients `row_grads` ([rows, D]); SignSgdRows and its distributed variant share it.
void SignSgdUpdate(torch::Tensor& weights, const torch::Tensor& rows,
                   const torch::Tensor& row_grads, double lr, double weight_decay);

// Official cosine_schedule_with_warmup_lr_lambda: step/warmup * lr during warm-up, then
// lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + cos(pi * progress))).
double CosineLr(int64_t step, double base_lr, int64_t warmup_steps, int64_t total_steps,
                double min_ratio);

// ema <- rate * ema + (1 - rate) * value, for each pair (official EMAHelper.update).
void EmaUpdate(std::vector<torch::Tensor>& ema, const std::vector<torch::Tensor>& values,
               double rate);

}  // namespace trm::train
