#include "train/optim.h"

#include <cmath>

namespace trm::train {

absl::StatusOr<OptimizerKind> ParseOptimizerKind(const std::string& name) {
  if (name == "adam_atan2" || name == "adamatan2") return OptimizerKind::kAdamAtan2;
  if (name == "adamw") return OptimizerKind::kAdamW;
  return absl::InvalidArgumentError("optimizer: unknown kind '" + name +
                                    "' (expected adam_atan2 or adamw)");
}

const char* OptimizerKindName(OptimizerKind kind) {
  return kind == OptimizerKind::kAdamAtan2 ? "adam_atan2" : "adamw";
}

Adam::Adam(std::vector<std::pair<std::string, torch::Tensor>> params, AdamOptions options)
    : options_(options) {
  for (auto& [name, p] : params) {
    torch::NoGradGuard no_grad;
    slots_.push_back({name, p, torch::zeros_like(p, torch::MemoryFormat::Contiguous),
                      torch::zeros_like(p, torch::MemoryFormat::Contiguous)});
  }
}

void Adam::Step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_count_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step_count_));
  const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step_count_));
  const double step_size = lr / bc1;
  const double bc2_sqrt = std::sqrt(bc2);
  for (auto& s : slots_) {
    const auto& g = s.param.grad();
    if (!g.defined()) continue;
    // Decoupled weight decay first, as both reference implementations do.
    s.param.mul_(1.0 - lr * options_.weight_decay);
    s.exp_avg.lerp_(g, 1.0 - b1);
    s.exp_avg_sq.lerp_(g * g, 1.0 - b2);
    auto denom = s.exp_avg_sq.sqrt() / bc2_sqrt;
    if (options_.kind == OptimizerKind::kAdamAtan2) {
      s.param.add_(torch::atan2(s.exp_avg, denom), -step_size);
    } else {
      s.param.addcdiv_(s.exp_avg, denom.add_(options_.eps), -step_size);
    }
  }
}

void Adam::ZeroGrad() {
  for (auto& s : slots_) {
    auto& g = s.param.mutable_grad();
    if (g.defined()) g = torch::Tensor();
  }
}

NamedTensors Adam::State() const {
  NamedTensors out;
  for (const auto& s : slots_) {
    out["exp_avg." + s.name] = s.exp_avg.detach().clone();
    out["exp_avg_sq." + s.name] = s.exp_avg_sq.detach().clone();
  }
  out["step"] = torch::tensor({step_count_}, torch::kLong);
  return out;
}

absl::Status Adam::LoadState(const NamedTensors& state) {
  auto step = state.find("step");
  if (step == state.end()) return absl::InvalidArgumentError("optimizer state: missing 'step'");
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    for (auto [key, dst] : {std::pair{"exp_avg." + s.name, &s.exp_avg},
                            std::pair{"exp_avg_sq." + s.name, &s.exp_avg_sq}}) {
      auto it = state.find(key);
      if (it == state.end()) {
        return absl::InvalidArgumentError("optimizer state: missing '" + key + "'");
      }
      if (it->second.sizes() != dst->sizes()) {
        return absl::InvalidArgumentError("optimizer state: '" + key + "' has the wrong shape");
      }
      dst->copy_(it->second);
    }
  }
  step_count_ = step->second.item<int64_t>();
  return absl::OkStatus();
}

void SignSgdRows(torch::Tensor& weights, const torch::Tensor& grad, const torch::Tensor& ids,
                 double lr, double weight_decay) {
  torch::NoGradGuard no_grad;
  auto rows = std::get<0>(torch::_unique(ids.reshape({-1}).to(weights.device(), torch::kLong)));
  SignSgdUpdate(weights, rows, grad.index_select(0, rows), lr, weight_decay);
}

void SignSgdUpdate(torch::Tensor& weights, const torch::Tensor& rows,
                   const torch::Tensor& row_grads, double lr, double weight_decay) {
  torch::NoGradGuard no_grad;
  auto p = weights.index_select(0, rows);
  p.mul_(1.0 - lr * weight_decay).add_(torch::sign(row_grads), -lr);
  weights.index_copy_(0, rows, p);
}

double CosineLr(int64_t step, double base_lr, int64_t warmup_steps, int64_t total_steps,
                double min_ratio) {
  if (step < warmup_steps) {
    return base_lr * static_cast<double>(step) /
           static_cast<double>(std::max<int64_t>(1, warmup_steps));
  }
  const double progress = static_cast<double>(step - warmup_steps) /
                          static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  return base_lr *
         (min_ratio + std::max(0.0, (1.0 - min_ratio) * 0.5 * (1.0 + std::cos(M_PI * progress))));
}

void EmaUpdate(std::vector<torch::Tensor>& ema, const std::vector<torch::Tensor>& values,
               double rate) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < ema.size(); ++i) ema[i].mul_(rate).add_(values[i].detach(), 1.0 - rate);
}

}  // namespace trm::train
