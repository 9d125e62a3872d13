// Tiny real TRM checkpoints for engine/ tests: random-init networks from a small TrmConfig,
// saved with model::SaveCheckpoint. The Q head can be set so halting is controllable:
// q_bias +5 halts at once, -5 (the official init) never, 0 with q_weight_std > 0 after a number
// of steps that depends on the puzzle.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/sync.h"
#include "engine/serving_model.h"

namespace trm::engine::testing {

struct TinyModelOptions {
  std::string kind = "sudoku";  // Checkpoint task kind.
  int seq_len = 81;
  int vocab_size = 11;
  int hidden_size = 32;
  int halt_max_steps = 8;
  std::vector<std::string> puzzle_identifiers;  // Non-empty: a puzzle embedding per id.
  float q_bias = -5.0f;
  float q_weight_std = 0.0f;
  float halt_threshold = 0.0f;  // The checkpoint's calibrated threshold (0: none).
  uint64_t seed = 1;
};

// Writes the checkpoint into `dir` (created) and returns `dir`. Aborts the test on failure.
std::string SaveTinyCheckpoint(const std::string& dir, const TinyModelOptions& options);

// A fresh temporary directory under $TMPDIR.
std::string MakeTempDir(const std::string& prefix);

// `count` distinct random token rows in 1..vocab-1.
std::vector<std::vector<int32_t>> RandomPuzzles(int count, int seq_len, int vocab_size,
                                                uint64_t seed);

// A tiny real network whose step and admission a test steers (engine/serving_model.h's virtual
// ResetRows / ActStepInto): it can answer every row with its own input tokens and halt rows by
// their first token (so dihedral views, whose first cell differs, halt at different steps while
// agreeing on the answer), throw from a step or an admission, and hold a step until the test lets
// it go.
class ScriptedModel : public ServingModel {
 public:
  // Wraps `model` (its network, config and info).
  explicit ScriptedModel(const ServingModel& model) : ServingModel(model) {}

  void ResetRows(model::Carry& carry, int64_t begin, int64_t count) const override;
  void ActStepInto(model::Carry& carry, const torch::Tensor& inputs,
                   const torch::Tensor& puzzle_ids, model::StepOutputs& out) const override;

  // Answer each row with its input tokens; halt (q_halt +10) the rows whose first token is in
  // the set, never (-10) the others. Until called, the network's own logits and Q head decide.
  void EchoInputsAndHaltOnFirstToken(std::set<int32_t> halting_first_tokens);
  // The next `n` admissions / steps throw: std::bad_alloc when `out_of_memory`, else
  // std::runtime_error("scripted step failure").
  void FailAdmissions(int n, bool out_of_memory);
  void FailSteps(int n, bool out_of_memory);
  // Step `step` (1-based, counted over all steps this model runs) waits until Release().
  void HoldStep(int step);
  // Blocks until a step waits at HoldStep (bounded only to turn a hang into a failure).
  bool WaitUntilHeld();
  void Release();
  int steps_run() const;

 private:
  mutable Mutex mu_;
  mutable CondVar changed_;
  bool echo_ ABSL_GUARDED_BY(mu_) = false;
  std::set<int32_t> halting_first_tokens_ ABSL_GUARDED_BY(mu_);
  mutable int fail_admissions_ ABSL_GUARDED_BY(mu_) = 0;
  mutable int fail_steps_ ABSL_GUARDED_BY(mu_) = 0;
  bool out_of_memory_ ABSL_GUARDED_BY(mu_) = false;
  int hold_step_ ABSL_GUARDED_BY(mu_) = 0;
  mutable bool holding_ ABSL_GUARDED_BY(mu_) = false;
  mutable int steps_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace trm::engine::testing
