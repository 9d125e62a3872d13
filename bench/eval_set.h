// trm-eval's inputs and figures, torch-free: examples read from a puzzle file or an official
// dataset directory, and the accuracy metrics of the official evaluation (exact accuracy,
// per-cell accuracy, halting accuracy = "the Q head says halt" iff the answer is exact) plus the
// ACT-step distribution.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace trm::bench {

struct EvalExample {
  std::string name;            // "file.txt:12" or "test#34".
  std::vector<int32_t> input;  // Model tokens.
  std::vector<int32_t> label;  // Model tokens; kIgnore where not scored.
  int32_t puzzle_identifier = 0;
  int maze_rows = 0, maze_cols = 0;  // Mazes: the puzzle's own size (answers are cropped).
};
inline constexpr int32_t kIgnore = -100;

// Sudoku file: one puzzle per line ('#' comments); the label is the solver's (unique) solution;
// puzzles without a unique solution are an error naming the line. Maze file: blocks of rows;
// a block with a path ('o') is its own label, otherwise the solver's shortest path.
// `task` is "sudoku" or "maze"; `maze_side` the model's frame. At most `limit` (> 0) examples.
absl::StatusOr<std::vector<EvalExample>> ReadPuzzleFile(const std::string& path,
                                                        const std::string& task, int maze_side,
                                                        int limit);
// Official dataset directory (<dir>/<split>/dataset.json, all__inputs.npy, ...); labels equal
// to the dataset's ignore_label_id are not scored.
absl::StatusOr<std::vector<EvalExample>> ReadDatasetExamples(const std::string& dir,
                                                             const std::string& split, int limit);

struct EvalMetrics {
  // The Q head "says halt" when sigmoid(q_halt_logit) >= halt_threshold (the official figure uses
  // 0.5, i.e. q_halt_logit >= 0). Set it to the threshold the engine halted with, so the figures
  // describe the halting a client gets.
  float halt_threshold = 0.5f;

  int64_t examples = 0;
  int64_t exact = 0;
  int64_t cells = 0, cells_correct = 0;
  int64_t halt_correct = 0;     // (confidence >= halt_threshold) == exact.
  int64_t confident = 0;        // confidence >= halt_threshold: the model vouches for its answer.
  int64_t confident_exact = 0;  // ... and the answer is exact.
  int64_t steps_total = 0;
  std::map<int, int64_t> steps_histogram;
  int64_t failed = 0;  // Requests the engine did not answer OK.

  // One answered example; returns whether its answer is exact.
  bool Add(const EvalExample& example, const std::vector<int32_t>& answer, float confidence,
           int steps);
  double exact_accuracy() const { return examples ? double(exact) / examples : 0; }
  double cell_accuracy() const { return cells ? double(cells_correct) / cells : 0; }
  double halt_accuracy() const { return examples ? double(halt_correct) / examples : 0; }
  // Of the answers the model vouches for, the share that is exact ("halts only when right").
  double halt_precision() const { return confident ? double(confident_exact) / confident : 0; }
  // Share of all answers the model vouches for.
  double confident_share() const { return examples ? double(confident) / examples : 0; }
  double mean_steps() const { return examples ? double(steps_total) / examples : 0; }
};

}  // namespace trm::bench
