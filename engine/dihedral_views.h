// Test-time augmentation for square-grid models (sudoku, maze): a request runs in several of the
// grid's 8 dihedral orientations at once, as rows of the same batch, and is answered with the
// view the model is most confident of (highest sigmoid(q_halt)), mapped back to the orientation
// it was asked in. The Q head decides; no solver is consulted.
//
// Why: a small model trained on one generator's mazes learns that generator's directional habits,
// so its answer depends on how the maze is turned, and its Q head knows which orientation it
// solved (checkpoints/maze/MODEL_CARD.md measures this). Plain C++ (no torch), tested on its own.
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

// One result from the per-view results (index = view): the most confident successful view
// (ties: the lower view), its answer mapped back to view 0. A failed view (cancelled, deadline,
// shutdown) fails the request with its status, the lowest failed view's first.
Result CombineViews(std::vector<Result> views, int side);

}  // namespace trm::engine
