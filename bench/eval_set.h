// trm-eval's inputs, torch-free: examples read from a puzzle file or an official dataset
// directory. Their figures are model/eval_tally.h's, the ones trm-train reports.
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

}  // namespace trm::bench
