// Training data as an index-addressable sequence of examples: example i is a pure function of
// (source, seed, i). The trainer's data position is therefore just a number, which makes a
// resumed run (on this machine or another) see exactly the data it would have seen.
//
// Sources: fresh puzzles generated on the fly by puzzle/ (an infinite stream), a fixed pool
// (N generated puzzles, or an official-format dataset directory) visited in a new seeded
// permutation every epoch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace trm::train {

// One training example in the model's token layout. Labels use kIgnoreLabel (-100) for
// unscored positions.
struct Example {
  std::vector<int32_t> inputs;
  std::vector<int32_t> labels;
  int32_t puzzle_id = 0;
};

// The token layout a source produces; the network's TrmConfig must agree.
struct DataShape {
  int seq_len = 0;
  int vocab_size = 0;
  int num_puzzle_identifiers = 1;
  nlohmann::json task;                          // For the checkpoint: {"kind": "sudoku"} etc.
  std::vector<std::string> puzzle_identifiers;  // May be empty.
};

class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  virtual const DataShape& shape() const = 0;
  // Distinct examples (0: unlimited).
  virtual int64_t size() const = 0;
  // Example `index` of the sequence; deterministic.
  virtual absl::StatusOr<Example> Get(int64_t index) = 0;
  virtual std::string Describe() const = 0;
};

// What to generate.
struct GeneratorOptions {
  std::string task = "sudoku";  // sudoku | maze
  uint64_t seed = 0;
  // Sudoku difficulty: target givens and the solver's guess band (puzzle/sudoku_generator.h).
  int sudoku_min_givens = 17;
  int sudoku_max_givens = 30;
  int64_t sudoku_min_guesses = 0;
  int64_t sudoku_max_guesses = -1;
  // Maze: grid side and minimum shortest-path length (Maze-Hard: 30, > 110).
  int maze_side = 30;
  int maze_min_path = 110;
  // Each generated example (puzzle and label alike) in one of its 8 dihedral orientations, drawn
  // from the example's seed. The maze generator carves from the top-left corner, so its mazes have
  // a direction a model learns; this removes it. The held-out set stays as generated.
  bool dihedral_aug = false;
};

// An infinite stream of fresh puzzles; example i is generated from a seed mixed with i.
absl::StatusOr<std::unique_ptr<ExampleSource>> MakeGeneratorSource(const GeneratorOptions& options);

// `count` examples taken from `source` (its indices 0..count-1), held in memory.
absl::StatusOr<std::vector<Example>> Materialize(ExampleSource& source, int64_t count);

// A fixed set visited epoch after epoch, each epoch in a fresh permutation seeded by
// (seed, epoch): index i is element perm_{i / N}[i % N].
std::unique_ptr<ExampleSource> MakePoolSource(std::vector<Example> examples, DataShape shape,
                                              uint64_t seed, std::string description);

// An official-format dataset directory (dataset/build_*_dataset.py output): `split` is
// "train" or "test". Each puzzle contributes its examples; labels' ignore id becomes -100.
absl::StatusOr<std::unique_ptr<ExampleSource>> MakeDatasetSource(const std::string& dir,
                                                                 const std::string& split,
                                                                 uint64_t seed);

// SplitMix64: decorrelates per-example seeds drawn from one run seed.
uint64_t MixSeed(uint64_t seed, uint64_t index);

}  // namespace trm::train
