// Builders of the official datasets from our puzzles (target trm_puzzle_io), the logic behind
// `trm-data build`. Layouts, augmentations and metadata as the official dataset/build_*.py;
// random draws come from std::mt19937_64 (seeded), so the exact augmentations differ from
// numpy's but their kinds and counts match.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "puzzle/arc.h"
#include "puzzle/dataset.h"
#include "puzzle/expected.h"
#include "puzzle/maze.h"
#include "puzzle/sudoku.h"

namespace trm::puzzle {

// Progress: (done, total) for long runs; may be empty.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

struct SudokuPair {
  SudokuGrid puzzle;
  SudokuGrid solution;
};
struct SudokuDatasetOptions {
  uint64_t seed = 0;
  int num_aug = 0;  // Extra shuffled copies per puzzle (official: train 1000, test 0).
};
// One group per puzzle: the puzzle then num_aug shuffles, each its own puzzle (identifier 0) of
// one example. vocab 11, seq_len 81, one identifier ("<blank>").
DatasetSplit BuildSudokuSplit(const std::vector<SudokuPair>& pairs,
                              const SudokuDatasetOptions& options, const ProgressFn& progress = {});

struct MazePair {
  Maze puzzle;
  Maze solution;
};
struct MazeDatasetOptions {
  bool dihedral_aug = false;  // Official: train adds the 7 other dihedral transforms.
  int side = kMazeMaxSide;    // Frame side; square mazes up to this are padded with walls.
};
// One group per maze; vocab 6, seq_len side*side. Errors when a maze is not square or too big
// (dihedral transforms of a non-square maze would change the frame), naming its index.
Expected<DatasetSplit> BuildMazeSplit(const std::vector<MazePair>& pairs,
                                      const MazeDatasetOptions& options,
                                      const ProgressFn& progress = {});

struct ArcDatasetOptions {
  uint64_t seed = 42;
  int num_aug = 1000;                // Official default.
  int puzzle_identifiers_start = 1;  // 0 is <blank>.
};
struct ArcDataset {
  DatasetSplit train;
  DatasetSplit test;
  std::vector<std::string> identifiers;  // identifiers.json.
  std::vector<ArcTask> test_tasks;       // test_puzzles.json.
};
// As the official build_arc_dataset.py: `train_sets` tasks put all their examples in train;
// `test_sets` tasks put their train examples in train and their test examples in test; each task
// gets num_aug distinct augmentations (named task|||t<k>|||<perm>, tried up to 5x num_aug times),
// and training examples (except one random example per puzzle) a random translation.
Expected<ArcDataset> BuildArcDataset(const std::vector<ArcTask>& train_sets,
                                     const std::vector<ArcTask>& test_sets,
                                     const ArcDatasetOptions& options,
                                     const ProgressFn& progress = {});
// Writes train/, test/, identifiers.json and test_puzzles.json under dir.
Expected<void> WriteArcDataset(const std::string& dir, const ArcDataset& dataset);

// Streaming versions for the official sizes: the same examples in the same order (same seed, same
// output) written to disk as they are made, through DatasetSplitWriter. Progress is per puzzle or
// task. They return what they wrote.
Expected<int64_t> WriteSudokuSplit(const std::string& dir, const std::string& split,
                                   const std::vector<SudokuPair>& pairs,
                                   const SudokuDatasetOptions& options,
                                   const ProgressFn& progress = {});
Expected<int64_t> WriteMazeSplit(const std::string& dir, const std::string& split,
                                 const std::vector<MazePair>& pairs,
                                 const MazeDatasetOptions& options,
                                 const ProgressFn& progress = {});
struct ArcDatasetSummary {
  int64_t train_examples = 0;
  int64_t test_examples = 0;
  int64_t identifiers = 0;
};
// train/, test/, identifiers.json and test_puzzles.json, as WriteArcDataset(BuildArcDataset()).
Expected<ArcDatasetSummary> WriteArcDatasetStreaming(const std::string& dir,
                                                     const std::vector<ArcTask>& train_sets,
                                                     const std::vector<ArcTask>& test_sets,
                                                     const ArcDatasetOptions& options,
                                                     const ProgressFn& progress = {});

}  // namespace trm::puzzle
