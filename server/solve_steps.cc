#include "server/solve_steps.h"

namespace trm::server {

trm::v1::SolveStep StepMessage(const EncodedPuzzle& puzzle, const engine::StepEvent& event) {
  trm::v1::SolveStep step;
  step.set_step(event.step);
  DecodeAnswer(puzzle, event.answer_tokens, step.mutable_answer());
  step.set_confidence(event.confidence);
  step.mutable_changed_cells()->Assign(event.changed_cells.begin(), event.changed_cells.end());
  return step;
}

void CompleteFinalStep(const engine::Result& result, std::span<const int32_t> previous,
                       trm::v1::SolveStep* step) {
  step->set_step(result.steps);
  *step->mutable_answer() = step->result().answer();
  step->set_confidence(result.confidence);
  step->set_final(true);
  if (previous.size() == result.answer_tokens.size()) {
    for (size_t i = 0; i < previous.size(); ++i) {
      if (previous[i] != result.answer_tokens[i]) step->add_changed_cells(static_cast<int>(i));
    }
  }
}

}  // namespace trm::server
