// ARC requests as batch rows: a test input of a task the checkpoint was trained on expands into
// the augmented variants the checkpoint has puzzle ids for (its identifiers.json names them
// `task|||t<k>|||<colour mapping>`), each a row of the batch; the rows' answers are mapped back
// and voted (puzzle/arc_vote.h) into the top attempts, as the official evaluator does.
// Plain C++ (no torch).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine_types.h"
#include "puzzle/arc.h"
#include "puzzle/arc_augment.h"

namespace trm::engine {

struct ArcRow {
  puzzle::ArcAugmentation augmentation;
  int32_t puzzle_identifier = 0;
  std::vector<int32_t> tokens;  // 900 tokens of the augmented input.
};

// The rows for `input` of `task_id`: the unaugmented variant first when the checkpoint has it,
// then the others in puzzle-id order; at most `max_rows` (<= 0: all). NOT_FOUND when the
// checkpoint has no id for the task; INVALID_ARGUMENT for a bad grid or one an augmentation
// cannot place.
absl::StatusOr<std::vector<ArcRow>> ExpandArcRequest(std::span<const std::string> identifiers,
                                                     const std::string& task_id,
                                                     const puzzle::ArcGrid& input, int max_rows);

// The rows for `input` of a task fitted at serving time (engine/arc_fit.h): variant v under
// variants[v] on puzzle id rows[v], at most `max_rows` (<= 0: all). INVALID_ARGUMENT for a bad
// grid.
absl::StatusOr<std::vector<ArcRow>> ExpandFittedArcRequest(
    std::span<const puzzle::ArcAugmentation> variants, std::span<const int32_t> rows,
    const puzzle::ArcGrid& input, int max_rows);

// One row's outcome, as the scheduler reported it.
struct ArcRowResult {
  puzzle::ArcAugmentation augmentation;
  Result result;
};

// Votes the rows into one Result: OK when every row is OK (else the first failure's status),
// arc_attempts the top `attempts` candidates, answer_tokens the best one's 900 tokens, steps the
// most any row ran, confidence the best candidate's mean halting confidence.
Result VoteArcRows(std::span<const ArcRowResult> rows, int attempts);

}  // namespace trm::engine
