#include "engine/halt_policy.h"

#include "absl/strings/str_cat.h"

namespace trm::engine {

absl::StatusOr<HaltPolicy> HaltPolicy::Create(const HaltOptions& options, int model_max_steps,
                                              float default_threshold) {
  HaltPolicy p;
  if (options.max_steps < 0 || options.max_steps > kMaxStepsLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("halt: max_steps ", options.max_steps, " is outside 0..", kMaxStepsLimit));
  }
  if (options.min_steps < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("halt: min_steps ", options.min_steps, " is negative"));
  }
  if (!(options.halt_threshold >= 0.0f && options.halt_threshold <= 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("halt: halt_threshold ", options.halt_threshold, " is outside [0, 1]"));
  }
  p.max_steps_ = options.max_steps > 0 ? options.max_steps : model_max_steps;
  if (p.max_steps_ <= 0) p.max_steps_ = 16;  // A checkpoint without ACT metadata: the paper's.
  p.min_steps_ = options.min_steps > 0 ? options.min_steps : 1;
  if (p.min_steps_ > p.max_steps_) {
    return absl::InvalidArgumentError(
        absl::StrCat("halt: min_steps ", p.min_steps_, " exceeds max_steps ", p.max_steps_));
  }
  p.threshold_ = options.halt_threshold > 0.0f ? options.halt_threshold : default_threshold;
  p.ignore_halting_ = options.ignore_halting;
  return p;
}

std::optional<HaltReason> HaltPolicy::Decide(int steps, float confidence) const {
  if (ignore_halting_) {
    if (steps >= max_steps_) return HaltReason::kFixedSteps;
    return std::nullopt;
  }
  if (steps >= min_steps_ && confidence >= threshold_) return HaltReason::kQHead;
  if (steps >= max_steps_) return HaltReason::kMaxSteps;
  return std::nullopt;
}

}  // namespace trm::engine
