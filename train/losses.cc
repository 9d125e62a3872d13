#include "train/losses.h"

namespace trm::train {

absl::StatusOr<LossType> ParseLossType(const std::string& name) {
  if (name == "stablemax" || name == "stablemax_cross_entropy") return LossType::kStablemax;
  if (name == "softmax" || name == "softmax_cross_entropy") return LossType::kSoftmax;
  return absl::InvalidArgumentError("loss: unknown type '" + name +
                                    "' (expected stablemax or softmax)");
}

const char* LossTypeName(LossType type) {
  return type == LossType::kStablemax ? "stablemax" : "softmax";
}

torch::Tensor StablemaxS(const torch::Tensor& x) {
  // The official epsilon keeps 1/(1-x) finite for x at the float64 limit.
  constexpr double kEps = 1e-30;
  return torch::where(x < 0, 1.0 / (1.0 - x + kEps), x + 1.0);
}

torch::Tensor LogStablemax(const torch::Tensor& x, int64_t dim) {
  auto s = StablemaxS(x.to(torch::kFloat64));
  return torch::log(s / s.sum(dim, /*keepdim=*/true));
}

namespace {
torch::Tensor ValidMask(const torch::Tensor& labels) { return labels != kIgnoreLabel; }
torch::Tensor SafeLabels(const torch::Tensor& labels, const torch::Tensor& mask) {
  return torch::where(mask, labels, torch::zeros_like(labels)).to(torch::kLong);
}
}  // namespace

torch::Tensor StablemaxCrossEntropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  const auto mask = ValidMask(labels);
  auto logprobs = LogStablemax(logits, -1);
  auto picked = logprobs.gather(-1, SafeLabels(labels, mask).unsqueeze(-1)).squeeze(-1);
  return -torch::where(mask, picked, torch::zeros_like(picked));
}

torch::Tensor SoftmaxCrossEntropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  const auto mask = ValidMask(labels);
  auto logprobs = torch::log_softmax(logits.to(torch::kFloat32), -1);
  auto picked = logprobs.gather(-1, SafeLabels(labels, mask).unsqueeze(-1)).squeeze(-1);
  return -torch::where(mask, picked, torch::zeros_like(picked));
}

LossOutputs ActLoss(const LossInputs& in, LossType type) {
  LossOutputs out;
  const auto labels = in.labels.to(torch::kLong);
  const auto mask = ValidMask(labels);
  const auto counts = mask.sum(-1);                        // [B]
  const auto divisor = counts.clamp_min(1).unsqueeze(-1);  // [B, 1]
  torch::Tensor seq_correct;
  {
    torch::NoGradGuard no_grad;
    const auto preds = in.logits.argmax(-1);
    const auto is_correct = mask & (preds == labels);
    seq_correct = is_correct.sum(-1) == counts;
    const auto valid = in.halted.to(torch::kBool) & (counts > 0);
    const auto validf = valid.to(torch::kFloat64);
    out.count = validf.sum().item<double>();
    out.accuracy =
        (validf * (is_correct.to(torch::kFloat64) / divisor).sum(-1)).sum().item<double>();
    out.exact_accuracy = (valid & seq_correct).sum().item<double>();
    out.q_halt_accuracy = (valid & ((in.q_halt >= 0) == seq_correct)).sum().item<double>();
    out.steps = (validf * in.steps.to(torch::kFloat64)).sum().item<double>();
  }
  auto per_cell = type == LossType::kStablemax ? StablemaxCrossEntropy(in.logits, labels)
                                               : SoftmaxCrossEntropy(in.logits, labels);
  auto lm_loss = (per_cell / divisor).sum().to(torch::kFloat32);
  auto q_halt_loss = torch::binary_cross_entropy_with_logits(
      in.q_halt, seq_correct.to(in.q_halt.scalar_type()), {}, {}, at::Reduction::Sum);
  auto total = lm_loss + 0.5 * q_halt_loss;
  if (in.target_q_continue.defined()) {
    auto q_continue_loss = torch::binary_cross_entropy_with_logits(
        in.q_continue, in.target_q_continue, {}, {}, at::Reduction::Sum);
    total = total + 0.5 * q_continue_loss;
    out.q_continue_loss = q_continue_loss.item<double>();
  }
  out.lm_loss = lm_loss.item<double>();
  out.q_halt_loss = q_halt_loss.item<double>();
  out.total = total;
  return out;
}

}  // namespace trm::train
