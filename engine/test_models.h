// Tiny real TRM checkpoints for engine/ tests: random-init networks from a small TrmConfig,
// saved with model::SaveCheckpoint. The Q head can be set so halting is controllable:
// q_bias +5 halts at once, -5 (the official init) never, 0 with q_weight_std > 0 after a number
// of steps that depends on the puzzle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trm::engine::testing {

struct TinyModelOptions {
  std::string kind = "sudoku";  // Checkpoint task kind.
  int seq_len = 81;
  int vocab_size = 11;
  int hidden_size = 32;
  int halt_max_steps = 8;
  std::vector<std::string> puzzle_identifiers;  // Non-empty: a puzzle embedding per id.
  float q_bias = -5.0f;
  float q_weight_std = 0.0f;
  float halt_threshold = 0.0f;  // The checkpoint's calibrated threshold (0: none).
  uint64_t seed = 1;
};

// Writes the checkpoint into `dir` (created) and returns `dir`. Aborts the test on failure.
std::string SaveTinyCheckpoint(const std::string& dir, const TinyModelOptions& options);

// A fresh temporary directory under $TMPDIR.
std::string MakeTempDir(const std::string& prefix);

// `count` distinct random token rows in 1..vocab-1.
std::vector<std::vector<int32_t>> RandomPuzzles(int count, int seq_len, int vocab_size,
                                                uint64_t seed);

}  // namespace trm::engine::testing
