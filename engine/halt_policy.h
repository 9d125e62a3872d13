// HaltPolicy: when one request stops recurring, decided per row at each ACT-step boundary.
// Plain C++ (no torch) so it is tested on its own.
//
// The paper's ACT rule (official TinyRecursiveReasoningModel_ACTV1.forward with
// no_ACT_continue): halt when q_halt_logit > 0, i.e. sigmoid(q_halt_logit) > 0.5, and always at
// halt_max_steps; its evaluation runs every puzzle for exactly halt_max_steps.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "engine/engine_types.h"

namespace trm::engine {

class HaltPolicy {
 public:
  // Resolves the request's zeros to defaults and checks ranges. `model_max_steps` is the
  // checkpoint's halt_max_steps. Errors name the field: `halt: min_steps 9 exceeds max_steps 4`.
  static absl::StatusOr<HaltPolicy> Create(const HaltOptions& options, int model_max_steps,
                                           float default_threshold);

  // After `steps` (1-based) ACT steps with halting confidence sigmoid(q_halt_logit): the reason
  // to stop now, or nullopt to run another step.
  std::optional<HaltReason> Decide(int steps, float confidence) const;

  int max_steps() const { return max_steps_; }
  int min_steps() const { return min_steps_; }
  float threshold() const { return threshold_; }
  bool ignore_halting() const { return ignore_halting_; }

 private:
  int max_steps_ = 16;
  int min_steps_ = 1;
  float threshold_ = 0.5f;
  bool ignore_halting_ = false;
};

}  // namespace trm::engine
