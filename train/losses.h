// The training objective of the official ACTLossHead (models/losses.py of the paper's code):
// a per-example-normalised cross-entropy over the labelled cells (stablemax by default,
// softmax as an option) plus 0.5 x binary cross-entropy of q_halt against "the whole answer
// is right", plus (with the q_continue bootstrap) 0.5 x BCE of q_continue against its target.
#pragma once

#include <torch/torch.h>

#include <string>

#include "absl/status/statusor.h"

namespace trm::train {

// Labels equal to this are not scored (padding outside a maze / ARC grid).
inline constexpr int64_t kIgnoreLabel = -100;

enum class LossType { kStablemax, kSoftmax };
absl::StatusOr<LossType> ParseLossType(const std::string& name);  // "stablemax" | "softmax"
const char* LossTypeName(LossType type);

// s(x) = 1/(1-x) for x < 0, x + 1 otherwise: a softmax replacement whose "exp" grows linearly,
// so it does not overflow (Prieto et al., "Grokking at the edge of numerical stability").
torch::Tensor StablemaxS(const torch::Tensor& x);
// log(s(x) / sum s(x)) along `dim`, computed in float64 as the official code does.
torch::Tensor LogStablemax(const torch::Tensor& x, int64_t dim = -1);

// Per-cell losses [B, S] (0 where labels == kIgnoreLabel). logits [B, S, V], labels [B, S].
torch::Tensor StablemaxCrossEntropy(const torch::Tensor& logits, const torch::Tensor& labels);
torch::Tensor SoftmaxCrossEntropy(const torch::Tensor& logits, const torch::Tensor& labels);

// What one ACT step's loss needs from the step.
struct LossInputs {
  torch::Tensor logits;             // [B, S, V] float32
  torch::Tensor q_halt;             // [B]
  torch::Tensor q_continue;         // [B]
  torch::Tensor target_q_continue;  // [B] or undefined (no bootstrap)
  torch::Tensor labels;             // [B, S] int64, kIgnoreLabel where unscored
  torch::Tensor halted;             // [B] bool: rows that halted at this step (for metrics)
  torch::Tensor steps;              // [B] int: ACT steps taken by each row, this one included
};

// Sums over the batch, like the official head (the trainer divides by the batch size).
struct LossOutputs {
  torch::Tensor total;  // lm + 0.5 * (q_halt + q_continue); has grad.
  // Detached sums for reporting.
  double lm_loss = 0;
  double q_halt_loss = 0;
  double q_continue_loss = 0;
  // Official metrics, summed over rows that halted at this step and have labels.
  double count = 0;
  double accuracy = 0;         // Sum of per-row cell accuracy.
  double exact_accuracy = 0;   // Rows entirely right.
  double q_halt_accuracy = 0;  // Rows where (q_halt >= 0) == entirely right.
  double steps = 0;            // Sum of ACT steps of those rows.
};

LossOutputs ActLoss(const LossInputs& in, LossType type);

}  // namespace trm::train
