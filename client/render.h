// Terminal rendering of answers for `trm-client solve --stream`: the grid with the cells that
// changed since the previous ACT step highlighted (ANSI reverse video), plus step and confidence.
#pragma once

#include <string>
#include <vector>

#include "trm/v1/solver.pb.h"

namespace trm::client {

struct RenderOptions {
  bool color = true;  // ANSI escapes; off when stdout is not a terminal.
};

// The answer as lines of text. `changed` holds cell indices in the model's token layout: for
// sudoku the 81 cells, for mazes indices into the model's side x side frame (`maze_side`).
std::vector<std::string> RenderAnswer(const trm::v1::Answer& answer,
                                      const std::vector<int>& changed, int maze_side,
                                      const RenderOptions& options);

// One step's frame: a header line ("step 3  confidence 0.912  changed 7") and the grid.
std::vector<std::string> RenderStep(const trm::v1::SolveStep& step, int maze_side,
                                    const RenderOptions& options);

// A short human summary of a final response (answer, steps, halt reason, verification, timing).
std::string SummarizeResponse(const trm::v1::SolveResponse& response, int maze_side,
                              const RenderOptions& options);

}  // namespace trm::client
