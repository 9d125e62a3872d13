// Between the API and the engine: SolveRequest -> the model's tokens and halting options, and
// the model's answer tokens -> Answer, verification and (optionally) the exact solver's answer.
//
// Every rejection is INVALID_ARGUMENT with a message naming the field and, for puzzles, the
// puzzle library's own message (`sudoku: bad character 'x' at position 17`).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "puzzle/arc.h"
#include "puzzle/maze.h"
#include "puzzle/sudoku.h"
#include "trm/v1/solver.pb.h"

namespace trm::server {

// Client strings the server keeps for a request's life (request_id is copied into the engine's
// request and echoed in the answer) or looks up (model, arc.task_id) are capped: without a cap a
// request_id could be as long as the whole message (16 MiB), and 20 calls with a 15 MiB one held
// 900 MiB (issue 22). Over a cap: INVALID_ARGUMENT naming the field, its size and the limit.
inline constexpr size_t kMaxRequestIdBytes = 256;
inline constexpr size_t kMaxModelNameBytes = 256;
inline constexpr size_t kMaxArcTaskIdBytes = 256;
// ARC tasks have a handful of demonstration pairs (ARC-AGI-1 and -2: at most 10).
inline constexpr int kMaxArcTrainPairs = 64;
absl::Status CheckStringLimits(const trm::v1::SolveRequest& request);

// The puzzle kind a request carries; INVALID_ARGUMENT when none is set.
absl::StatusOr<engine::TaskKind> RequestKind(const trm::v1::SolveRequest& request);

// A request's puzzle in the model's layout, plus what decoding and verification need.
struct EncodedPuzzle {
  engine::TaskKind kind = engine::TaskKind::kTokens;
  std::vector<int32_t> tokens;  // [seq_len]; empty for ARC (the engine augments).
  int32_t puzzle_identifier = 0;
  puzzle::SudokuGrid sudoku;  // kSudoku: the givens.
  puzzle::Maze maze;          // kMaze: the puzzle.
  int maze_side = puzzle::kMazeMaxSide;
  std::string arc_task_id;  // kArc.
  puzzle::ArcGrid arc_input;
  std::vector<puzzle::ArcExample> arc_train;  // kArc: the task's pairs, for a fit (may be empty).
};

// Parses and validates the request's puzzle for `model`. A kind the model does not serve is
// INVALID_ARGUMENT (`model "maze" serves maze puzzles, not sudoku`); raw tokens work for any
// model but must match its seq_len and vocabulary.
absl::StatusOr<EncodedPuzzle> EncodePuzzle(const trm::v1::SolveRequest& request,
                                           const engine::ModelInfo& model);

// Server-wide halting defaults, applied where a request leaves a field at 0.
struct HaltDefaults {
  int max_steps = 0;  // 0: the model's halt_max_steps.
  int min_steps = 0;
  float halt_threshold = 0.0f;  // 0: the engine's default.
};

// Checks the options' ranges (`options.max_steps: -1 is outside 0..1024`) and fills defaults.
absl::StatusOr<engine::HaltOptions> ToHaltOptions(const trm::v1::SolveOptions& options,
                                                  const engine::ModelInfo& model,
                                                  const HaltDefaults& defaults);
// ARC options: arc_augmentations 0..kMaxArcAugmentations, arc_attempts 0..kMaxArcAttempts.
inline constexpr int kMaxArcAugmentations = 1000;
inline constexpr int kMaxArcAttempts = 10;
absl::Status CheckArcOptions(const trm::v1::SolveOptions& options);
// options.dihedral_views: 0..8 (puzzle::kNumDihedral), and not for ARC (it has
// arc_augmentations). Whether the model has a grid to turn is the engine's check.
absl::Status CheckViewOptions(const trm::v1::SolveOptions& options, engine::TaskKind kind);

// The model's answer tokens as an Answer of the request's kind. Tokens that do not decode
// (e.g. a pad inside a maze's crop) are returned raw, as Answer.tokens.
void DecodeAnswer(const EncodedPuzzle& puzzle, std::span<const int32_t> tokens,
                  trm::v1::Answer* answer);

struct Checked {
  trm::v1::Verification verification = trm::v1::VERIFICATION_NOT_CHECKABLE;
  std::string detail;  // Why it failed, from the puzzle library.
};
// Sudoku and maze answers are checked against the rules; ARC and raw tokens are not checkable.
Checked VerifyAnswer(const EncodedPuzzle& puzzle, std::span<const int32_t> tokens);

// The exact solver's answer for sudoku and maze; false when there is none (unsolvable, or a
// kind without one).
bool ExactAnswer(const EncodedPuzzle& puzzle, trm::v1::Answer* answer);

// Grid <-> puzzle::ArcGrid.
void ToProtoGrid(int rows, int cols, std::span<const int32_t> cells, trm::v1::Grid* grid);
void ToProtoGrid(const puzzle::ArcGrid& from, trm::v1::Grid* grid);

trm::v1::HaltReason ToProtoHaltReason(engine::HaltReason reason);
// "verified", "invalid", "not_checkable": the metrics label.
const char* VerificationLabel(trm::v1::Verification verification);

// The ListModels description of a model.
void ToProtoModelInfo(const engine::ModelInfo& info, trm::v1::ModelInfo* out);

}  // namespace trm::server
