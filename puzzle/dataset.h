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
#include <fstream>
#include <memory>
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

// Streams one split to disk, for datasets too large to hold in memory (the official ARC build
// with 1000 augmentations has ~3M examples, 5 GB of uint8 tokens). Tokens go straight into
// <set>__inputs.npy / <set>__labels.npy (uint8, so vocab_size <= 256), whose headers get their
// final shape in Finish; the index arrays and dataset.json are written by Finish. Files left by a
// writer that never finished have a header saying 0 examples.
class DatasetSplitWriter {
 public:
  static Expected<std::unique_ptr<DatasetSplitWriter>> Open(const std::string& dir,
                                                            const std::string& split, int seq_len,
                                                            int vocab_size);
  ~DatasetSplitWriter();
  DatasetSplitWriter(const DatasetSplitWriter&) = delete;
  DatasetSplitWriter& operator=(const DatasetSplitWriter&) = delete;

  // Same building order as DatasetSet. AddExample checks lengths and token range.
  Expected<void> AddExample(std::span<const int32_t> input, std::span<const int32_t> label);
  void EndPuzzle(int32_t identifier);
  void EndGroup();

  // Fills the statistics (and seq_len, vocab_size) into `metadata` and writes everything.
  Expected<void> Finish(DatasetMetadata metadata);

  int64_t num_examples() const { return num_examples_; }
  int64_t num_puzzles() const { return int64_t(puzzle_identifiers_.size()); }

 private:
  DatasetSplitWriter() = default;
  std::string root_;
  int seq_len_ = 0;
  int vocab_size_ = 0;
  int64_t num_examples_ = 0;
  std::ofstream inputs_, labels_;
  std::vector<char> buffer_;
  std::vector<int32_t> puzzle_identifiers_, puzzle_indices_ = {0}, group_indices_ = {0};
};

// Reads a split without loading its token arrays: uint8 inputs/labels (what the builders write)
// are memory-mapped and decoded row by row, so the official ARC training split (3.6M examples,
// 6.5 GB) costs no memory up front. Other dtypes are read into memory. Index arrays are loaded.
class DatasetSplitReader {
 public:
  // Errors as ReadDatasetSplit (missing files, shapes that disagree with dataset.json, indices).
  static Expected<std::unique_ptr<DatasetSplitReader>> Open(const std::string& dir,
                                                            const std::string& split,
                                                            const std::string& set = "all");
  ~DatasetSplitReader();
  DatasetSplitReader(const DatasetSplitReader&) = delete;
  DatasetSplitReader& operator=(const DatasetSplitReader&) = delete;

  const DatasetMetadata& metadata() const { return metadata_; }
  int seq_len() const { return metadata_.seq_len; }
  int64_t num_examples() const { return num_examples_; }
  const std::vector<int32_t>& puzzle_identifiers() const { return puzzle_identifiers_; }
  const std::vector<int32_t>& puzzle_indices() const { return puzzle_indices_; }
  const std::vector<int32_t>& group_indices() const { return group_indices_; }

  // Copies example i's seq_len tokens into out. Preconditions: 0 <= i < num_examples(),
  // out.size() >= seq_len(). Thread-safe (read-only).
  void Input(int64_t i, std::span<int32_t> out) const;
  void Label(int64_t i, std::span<int32_t> out) const;

 private:
  struct Tokens;  // One mapped or loaded token array.
  DatasetSplitReader() = default;
  DatasetMetadata metadata_;
  int64_t num_examples_ = 0;
  std::unique_ptr<Tokens> inputs_, labels_;
  std::vector<int32_t> puzzle_identifiers_, puzzle_indices_, group_indices_;
};

// identifiers.json: a JSON list of names, index = puzzle identifier, "<blank>" at 0.
Expected<void> WriteIdentifiers(const std::string& dir, const std::vector<std::string>& names);
Expected<std::vector<std::string>> ReadIdentifiers(const std::string& dir);

}  // namespace trm::puzzle
