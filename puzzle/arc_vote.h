// Voting over augmented ARC predictions, as the official evaluator (evaluators/arc.py): each
// prediction of one test input is decoded (cropped), mapped back through its augmentation's
// inverse, grouped with identical grids, and the groups ranked by vote count, then by mean
// halting confidence, both descending (ties keep first-seen order, like Python's stable sort).
// The top k groups are the attempts; a test input passes@k when one of them equals the truth.
#pragma once

#include <span>
#include <vector>

#include "puzzle/arc.h"
#include "puzzle/arc_augment.h"
#include "puzzle/expected.h"

namespace trm::puzzle {

struct ArcPrediction {
  ArcAugmentation augmentation;  // How the input the model saw was augmented.
  ArcGrid grid;                  // The decoded prediction, in the augmented frame.
  float confidence = 0.0f;       // Halting confidence (sigmoid of q_halt_logit).
};

struct ArcCandidate {
  ArcGrid grid;  // In the original orientation and colours.
  int votes = 0;
  float mean_confidence = 0.0f;
};

// Ranked candidates, best first; at most top_k (top_k <= 0: all). An empty grid (a crop that
// found no colour) is a candidate like any other, as in the official evaluator (it can never be
// right). Means are computed in double, as the evaluator's float64 sigmoid.
std::vector<ArcCandidate> VoteArcPredictions(std::span<const ArcPrediction> predictions,
                                             int top_k = 0);

// Convenience: decode 900 model tokens with ArcGridFromTokens into an ArcPrediction.
Expected<ArcPrediction> ArcPredictionFromTokens(const ArcAugmentation& augmentation,
                                                std::span<const int32_t> tokens, float confidence);

// True when one of the first k candidates equals `truth`.
bool ArcPassAtK(std::span<const ArcCandidate> ranked, const ArcGrid& truth, int k);

// A task's pass@k score as the official evaluator: the fraction of its test inputs that pass.
// ranked_per_test[i] are the candidates for test input i; truths[i] its solution.
double ArcTaskScore(std::span<const std::vector<ArcCandidate>> ranked_per_test,
                    std::span<const ArcGrid> truths, int k);

}  // namespace trm::puzzle
