// libFuzzer over the server's request path: bytes -> SolveRequest (protobuf parse, as gRPC does)
// -> the same validation and encoding the Solver service runs (RequestKind, EncodePuzzle for a
// sudoku, maze, ARC and raw-tokens model, ToHaltOptions, CheckArcOptions), then decoding,
// verification and the exact solver on whatever encoded. Any crash, sanitizer report or
// rejection that is not INVALID_ARGUMENT is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "server/request_codec.h"

namespace {

using trm::engine::ModelInfo;
using trm::engine::TaskKind;

ModelInfo Model(const char* name, TaskKind task, int seq_len, int vocab, int maze_side, int ids) {
  ModelInfo m;
  m.name = name;
  m.task = task;
  m.seq_len = seq_len;
  m.vocab_size = vocab;
  m.halt_max_steps = 16;
  m.maze_side = maze_side;
  m.num_puzzle_identifiers = ids;
  return m;
}

void Check(const absl::Status& s) {
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) {
    std::fprintf(stderr, "unexpected status %s\n", s.ToString().c_str());
    std::abort();
  }
  if (!s.ok() && s.message().empty()) {
    std::fprintf(stderr, "rejection without a message\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trm::v1::SolveRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  static const ModelInfo kModels[] = {
      Model("sudoku", TaskKind::kSudoku, 81, 11, 0, 1),
      Model("maze", TaskKind::kMaze, 900, 6, 30, 1),
      Model("maze9", TaskKind::kMaze, 81, 6, 9, 1),
      Model("arc", TaskKind::kArc, 900, 12, 0, 100),
      Model("tokens", TaskKind::kTokens, 16, 8, 0, 0),
  };
  const trm::server::HaltDefaults defaults{.max_steps = 0, .min_steps = 0, .halt_threshold = 0.5f};
  Check(trm::server::RequestKind(request).status());
  Check(trm::server::CheckArcOptions(request.options()));
  for (const ModelInfo& model : kModels) {
    auto halt = trm::server::ToHaltOptions(request.options(), model, defaults);
    Check(halt.status());
    if (halt.ok() &&
        (halt->max_steps < 0 || halt->max_steps > trm::engine::kMaxStepsLimit ||
         halt->min_steps < 0 || !(halt->halt_threshold >= 0.0f) || halt->halt_threshold > 1.0f)) {
      std::fprintf(stderr, "accepted out-of-range halt options\n");
      std::abort();
    }
    auto puzzle = trm::server::EncodePuzzle(request, model);
    Check(puzzle.status());
    if (!puzzle.ok()) continue;
    if (puzzle->kind != TaskKind::kArc &&
        static_cast<int>(puzzle->tokens.size()) != model.seq_len &&
        !(puzzle->kind == TaskKind::kSudoku && puzzle->tokens.size() == 81)) {
      std::fprintf(stderr, "encoded %zu tokens for a seq_len %d model\n", puzzle->tokens.size(),
                   model.seq_len);
      std::abort();
    }
    // The model's answer is arbitrary: feed the encoded tokens back as if they were it.
    trm::v1::Answer answer;
    trm::server::DecodeAnswer(*puzzle, puzzle->tokens, &answer);
    trm::server::VerifyAnswer(*puzzle, puzzle->tokens);
    trm::v1::Answer exact;
    trm::server::ExactAnswer(*puzzle, &exact);
  }
  return 0;
}
