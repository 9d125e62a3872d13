// Example puzzles for a model, from the generators its training data came from (puzzle/), so the
// web page's "Generate" gives puzzles like the ones the model card measures. Sudoku bands follow
// the card's givens bands; maze bands its shortest-path bands.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "trm/v1/solver.pb.h"

namespace trm::server {

// A SolveRequest with `model` and a fresh puzzle of the model's kind. `difficulty` is easy,
// medium or hard (empty: medium): sudoku 42-49, 34-41 or 28-33 givens; maze shortest paths 4-11,
// 12-20 or 21 and longer, on the model's maze side. Deterministic for a seed. INVALID_ARGUMENT
// for another difficulty or a model of another kind (arc, tokens).
absl::StatusOr<trm::v1::SolveRequest> ExamplePuzzle(const engine::ModelInfo& model,
                                                    std::string_view difficulty, uint64_t seed);

}  // namespace trm::server
