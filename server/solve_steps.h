// SolveStep messages from engine events, for every transport that streams steps (gRPC SolveSteps,
// HTTP /v1/solve:stream): one per ACT step with the model's current answer, and a final one with
// the full result.
#pragma once

#include <cstdint>
#include <span>

#include "engine/engine.h"
#include "server/request_codec.h"
#include "trm/v1/solver.pb.h"

namespace trm::server {

// An intermediate step: its number, the decoded answer, confidence and the changed cells.
trm::v1::SolveStep StepMessage(const EncodedPuzzle& puzzle, const engine::StepEvent& event);

// Completes `step`, whose `result` is already filled (SolverService::FillResponse): the final
// step's number, answer and confidence, `final`, and the cells that differ from the last
// intermediate step's tokens (`previous`; none when there was none).
void CompleteFinalStep(const engine::Result& result, std::span<const int32_t> previous,
                       trm::v1::SolveStep* step);

}  // namespace trm::server
