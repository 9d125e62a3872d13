// engine_types.h's one function, torch-free, so code that only needs the engine's plain types
// (the request fuzzer, trm_engine_core's users) can have it without linking libtorch.
#include "engine/engine_types.h"

namespace trm::engine {

const char* TaskKindName(TaskKind kind) {
  switch (kind) {
    case TaskKind::kSudoku:
      return "sudoku";
    case TaskKind::kMaze:
      return "maze";
    case TaskKind::kArc:
      return "arc";
    case TaskKind::kTokens:
      return "tokens";
  }
  return "tokens";
}

}  // namespace trm::engine
