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
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "puzzle/dihedral.h"

namespace trm::engine {

inline constexpr int kMaxDihedralViews = puzzle::kNumDihedral;

// The grid side a model's views transform: 9 for sudoku, the trained side for a maze model
// (seq_len must be side * side). Other models have no grid to turn: INVALID_ARGUMENT naming them.
absl::StatusOr<int> DihedralGridSide(const ModelInfo& model);

// `tokens` (side x side, row-major) as seen in view k: puzzle/dihedral.h's transform k.
std::vector<int32_t> ViewTokens(const std::vector<int32_t>& tokens, int side, int view);

// One result from the per-view results (index = view): the answer, mapped back to view 0, whose
// views' confidences sum highest (ties: the answer of the lower view), reported with the
// confidence, steps and halt reason of its most confident view. A failed view (cancelled,
// deadline, shutdown) fails the request with its status, the lowest failed view's first.
Result CombineViews(std::vector<Result> views, int side);

}  // namespace trm::engine
