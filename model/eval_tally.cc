#include "model/eval_tally.h"

#include <algorithm>

namespace trm::model {

bool EvalTally::Add(std::span<const int32_t> label, std::span<const int32_t> answer,
                    float confidence, int steps) {
  ++examples;
  int64_t scored = 0, right = 0;
  for (size_t i = 0; i < label.size(); ++i) {
    if (label[i] < 0) continue;
    ++scored;
    right += i < answer.size() && answer[i] == label[i];
  }
  const bool all = right == scored;
  exact += all;
  cell_share_sum += double(right) / double(std::max<int64_t>(scored, 1));
  const bool vouched = confidence >= halt_threshold;
  halt_correct += vouched == all;
  confident += vouched;
  confident_exact += vouched && all;
  steps_total += steps;
  ++steps_histogram[steps];
  return all;
}

}  // namespace trm::model
