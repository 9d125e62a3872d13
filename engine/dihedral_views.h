// Test-time augmentation for square-grid models (sudoku, maze): a request runs in several of the
// grid's 8 dihedral orientations at once, as rows of the same batch; each view's answer is mapped
// back to the orientation it was asked in and the views vote, each with its Q head's confidence
// (sigmoid(q_halt)). The model decides; no solver is consulted.
//
// Why: a small model trained on one generator's mazes learns that generator's directional habits,
// so its answer depends on how the maze is turned, and its Q head knows which orientation it
// solved; right views agree on one answer while wrong ones scatter, so a confidence-weighted vote
// beats taking the single most confident view (checkpoints/maze/MODEL_CARD.md measures both).
// Plain C++ (no torch), tested on its own.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine_types.h"
#include "puzzle/dihedral.h"

namespace trm::engine {

inline constexpr int kMaxDihedralViews = puzzle::kNumDihedral;

// The grid side a model's views transform: 9 for sudoku, the trained side for a maze model
// (seq_len must be side * side). Other models have no grid to turn: INVALID_ARGUMENT naming them.
absl::StatusOr<int> DihedralGridSide(const ModelInfo& model);

// `tokens` (side x side, row-major) as seen in view k: puzzle/dihedral.h's transform k.
std::vector<int32_t> ViewTokens(const std::vector<int32_t>& tokens, int side, int view);

// One view's answer, turned back to the orientation the puzzle was asked in (view 0's).
struct ViewAnswer {
  int view = 0;
  Result result;  // answer_tokens in view 0's orientation; confidence, steps, halt_reason.
};

// `result` as answered by view `view` of a side x side grid, turned back.
ViewAnswer TurnBack(int view, Result result, int side);

// The confidence-weighted vote over the views that have answered (sorted by view): each view
// votes for its answer with its Q head's confidence (sigmoid(q_halt), at most 1); the answer
// with the most votes wins, ties going to the answer of the lower view.
struct ViewVote {
  int winner = -1;   // Index into the answers of the winning answer's most confident view.
  double lead = 0;   // The winner's votes minus the runner-up answer's (all of them if alone).
  int agreeing = 0;  // Views holding the winning answer.
};
ViewVote TallyViews(std::span<const ViewAnswer> answers);

// True when `running` views still to answer, each voting at most 1, cannot change the winner:
// the request can be answered now and its other rows stopped.
inline bool VoteDecided(const ViewVote& vote, int running) {
  return vote.winner >= 0 && (running == 0 || vote.lead > running);
}

// The request's result from the views that answered: the winner's answer, reported with the
// confidence, steps and halt reason of its most confident view; `views` and `views_agreeing`
// say how many answered and how many of them agree. INTERNAL when none answered.
Result CombineViews(std::span<const ViewAnswer> answers);

}  // namespace trm::engine
