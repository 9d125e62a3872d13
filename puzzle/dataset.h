// The official TRM dataset directory format (dataset/common.py PuzzleDatasetMetadata and the
// dataset builders), read and written (target trm_puzzle_io):
//
//   <dir>/<split>/dataset.json                 metadata (fields below)
//   <dir>/<split>/<set>__inputs.npy            [num_examples, seq_len] tokens (uint8)
//   <dir>/<split>/<set>__labels.npy            [num_examples, seq_len] tokens (uint8)
//   <dir>/<split>/<set>__puzzle_identifiers.npy [num_puzzles] int32
//   <dir>/<split>/<set>__puzzle_indices.npy    [num_puzzles + 1] int32, first example of each
//   <dir>/<split>/<set>__group_indices.npy     [num_groups + 1] int32, first puzzle of each group
//   <dir>/identifiers.json                     puzzle identifier -> name, "<blank>" at 0
//   <dir>/test_puzzles.json                    ARC only: the test split's tasks, ARC JSON
//
// A group holds a puzzle and its augmentations; a puzzle holds one or more examples (ARC: the
// task's demonstration pairs; Sudoku and maze: one). The only set the builders write is "all".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "puzzle/expected.h"

namespace trm::puzzle {

struct DatasetMetadata {
  int pad_id = 0;
  std::optional<int> ignore_label_id = 0;  // JSON null when absent.
  int blank_identifier_id = 0;
  int vocab_size = 0;
  int seq_len = 0;
  int num_puzzle_identifiers = 1;
  int total_groups = 0;
  double mean_puzzle_examples = 0;
  int total_puzzles = 0;
  std::vector<std::string> sets = {"all"};
};

// One set of one split, in memory.
struct DatasetSet {
  int seq_len = 0;
  std::vector<int32_t> inputs;              // num_examples * seq_len.
  std::vector<int32_t> labels;              // num_examples * seq_len.
  std::vector<int32_t> puzzle_identifiers;  // num_puzzles.
  std::vector<int32_t> puzzle_indices = {0};
  std::vector<int32_t> group_indices = {0};

  int64_t num_examples() const { return seq_len ? int64_t(inputs.size()) / seq_len : 0; }
  int64_t num_puzzles() const { return int64_t(puzzle_identifiers.size()); }
  int64_t num_groups() const { return int64_t(group_indices.size()) - 1; }

  // Building in order: AddExample for each example of a puzzle, then EndPuzzle; after a
  // group's puzzles, EndGroup. Preconditions: spans are seq_len long.
  void AddExample(std::span<const int32_t> input, std::span<const int32_t> label);
  void EndPuzzle(int32_t identifier);
  void EndGroup();

  // Consistency: sizes, monotone indices that start at 0 and end at the totals, tokens within
  // 0..vocab_size-1 when vocab_size > 0. Errors name the array and index.
  Expected<void> Validate(int vocab_size = 0) const;
};

struct DatasetSplit {
  DatasetMetadata metadata;
  DatasetSet set;  // The "all" set (the builders write no other).
};

// Fills total_groups, total_puzzles and mean_puzzle_examples from the set, as the builders.
void FillDatasetStatistics(const DatasetSet& set, DatasetMetadata& metadata);

// Writes <dir>/<split>/{dataset.json, all__*.npy}; creates directories. Validates first.
Expected<void> WriteDatasetSplit(const std::string& dir, const std::string& split,
                                 const DatasetSplit& data);
// Reads them back; checks shapes against dataset.json. Errors name the file.
Expected<DatasetSplit> ReadDatasetSplit(const std::string& dir, const std::string& split,
                                        const std::string& set = "all");

Expected<DatasetMetadata> ParseDatasetMetadata(const std::string& json);
std::string DatasetMetadataToJson(const DatasetMetadata& metadata);

// identifiers.json: a JSON list of names, index = puzzle identifier, "<blank>" at 0.
Expected<void> WriteIdentifiers(const std::string& dir, const std::vector<std::string>& names);
Expected<std::vector<std::string>> ReadIdentifiers(const std::string& dir);

}  // namespace trm::puzzle
