// EvalTally: how a model's answers score, as the official evaluation defines the figures, with the
// halting a client gets. One definition for trm-train's evaluation and trm-eval's, so training
// reports the halting accuracy the server will have: both stop a puzzle where the engine would
// (sigmoid(q_halt) >= the threshold it serves the model at, else at max steps) and add that
// step's answer here. Plain C++: trm-eval sees no torch.
#pragma once

#include <cstdint>
#include <map>
#include <span>

namespace trm::model {

// The threshold a checkpoint that names none (config.json serving.halt_threshold) is served and
// evaluated at: sigmoid(q_halt) >= 0.5, i.e. q_halt_logit >= 0, the official rule.
inline constexpr float kDefaultHaltThreshold = 0.5f;

struct EvalTally {
  // The Q head "says halt" when sigmoid(q_halt_logit) >= halt_threshold (the official figure uses
  // 0.5, i.e. q_halt_logit >= 0). Set it to the threshold the engine halts with, so the figures
  // describe the halting a client gets.
  float halt_threshold = kDefaultHaltThreshold;

  int64_t examples = 0;
  int64_t exact = 0;
  double cell_share_sum = 0;    // Sum over examples of the share of scored cells right.
  int64_t halt_correct = 0;     // (confidence >= halt_threshold) == exact.
  int64_t confident = 0;        // confidence >= halt_threshold: the model vouches for its answer.
  int64_t confident_exact = 0;  // ... and the answer is exact.
  int64_t steps_total = 0;
  std::map<int, int64_t> steps_histogram;
  int64_t failed = 0;  // Requests the engine did not answer OK (trm-eval).

  // One answer: `label` in model tokens, negative where not scored (-100, the official ignore
  // label); `answer` the tokens at the step it stopped; `confidence` sigmoid(q_halt) there.
  // Returns whether the answer is exact.
  bool Add(std::span<const int32_t> label, std::span<const int32_t> answer, float confidence,
           int steps);

  double exact_accuracy() const { return examples ? double(exact) / examples : 0; }
  // The official "accuracy": per example the share of its scored cells right, averaged.
  double cell_accuracy() const { return examples ? cell_share_sum / examples : 0; }
  // The official q_halt_accuracy: the Q head's verdict matches the answer's exactness.
  double halt_accuracy() const { return examples ? double(halt_correct) / examples : 0; }
  // Of the answers the model vouches for, the share that is exact ("halts only when right").
  double halt_precision() const { return confident ? double(confident_exact) / confident : 0; }
  // Share of all answers the model vouches for.
  double confident_share() const { return examples ? double(confident) / examples : 0; }
  double mean_steps() const { return examples ? double(steps_total) / examples : 0; }
};

}  // namespace trm::model
