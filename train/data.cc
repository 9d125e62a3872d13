#include "train/data.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "puzzle/dihedral.h"
#include "puzzle/maze_generator.h"
#include "puzzle/sudoku_generator.h"

namespace trm::train {

uint64_t MixSeed(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

namespace {

// Turns a side x side example by the dihedral transform its seed picks (see dihedral_aug).
void MaybeTurn(const GeneratorOptions& o, uint64_t example_seed, int side, Example& e) {
  if (!o.dihedral_aug) return;
  const int k = static_cast<int>(MixSeed(example_seed, 0xD1) % puzzle::kNumDihedral);
  e.inputs = puzzle::DihedralTransform(e.inputs, side, side, k);
  e.labels = puzzle::DihedralTransform(e.labels, side, side, k);
}

class SudokuSource : public ExampleSource {
 public:
  explicit SudokuSource(const GeneratorOptions& o) : options_(o) {
    shape_.seq_len = puzzle::kSudokuSeqLen;
    shape_.vocab_size = puzzle::kSudokuVocabSize;
    shape_.task = {{"kind", "sudoku"}};
  }
  const DataShape& shape() const override { return shape_; }
  int64_t size() const override { return 0; }
  absl::StatusOr<Example> Get(int64_t index) override {
    puzzle::SudokuGeneratorOptions g;
    g.seed = MixSeed(options_.seed, static_cast<uint64_t>(index));
    g.min_givens = options_.sudoku_min_givens;
    g.max_givens = options_.sudoku_max_givens;
    g.min_guesses = options_.sudoku_min_guesses;
    g.max_guesses = options_.sudoku_max_guesses;
    puzzle::SudokuGenerator generator(g);
    auto made = generator.Next();
    if (!made.ok()) return absl::InvalidArgumentError(made.error().message);
    Example e;
    e.inputs = puzzle::SudokuToTokens(made->puzzle);
    e.labels = puzzle::SudokuToTokens(made->solution);
    MaybeTurn(options_, g.seed, 9, e);
    return e;
  }
  std::string Describe() const override {
    return absl::StrCat("generated sudoku (givens ", options_.sudoku_min_givens, "..",
                        options_.sudoku_max_givens, ", seed ", options_.seed,
                        options_.dihedral_aug ? ", random dihedral orientation" : "", ")");
  }

 private:
  GeneratorOptions options_;
  DataShape shape_;
};

class MazeSource : public ExampleSource {
 public:
  explicit MazeSource(const GeneratorOptions& o) : options_(o) {
    shape_.seq_len = o.maze_side * o.maze_side;
    shape_.vocab_size = puzzle::kMazeVocabSize;
    shape_.task = {{"kind", "maze"}, {"side", o.maze_side}};
  }
  const DataShape& shape() const override { return shape_; }
  int64_t size() const override { return 0; }
  absl::StatusOr<Example> Get(int64_t index) override {
    puzzle::MazeGeneratorOptions g;
    g.seed = MixSeed(options_.seed, static_cast<uint64_t>(index));
    g.side = options_.maze_side;
    g.min_path_length = options_.maze_min_path;
    puzzle::MazeGenerator generator(g);
    auto made = generator.Next();
    if (!made.ok()) return absl::InvalidArgumentError(made.error().message);
    auto inputs = puzzle::MazeToTokens(made->puzzle, options_.maze_side);
    auto labels = puzzle::MazeToTokens(made->solution, options_.maze_side);
    if (!inputs.ok()) return absl::InvalidArgumentError(inputs.error().message);
    if (!labels.ok()) return absl::InvalidArgumentError(labels.error().message);
    Example e;
    e.inputs = std::move(*inputs);
    e.labels = std::move(*labels);
    MaybeTurn(options_, g.seed, options_.maze_side, e);
    return e;
  }
  std::string Describe() const override {
    return absl::StrCat("generated maze ", options_.maze_side, "x", options_.maze_side,
                        " (shortest path >= ", options_.maze_min_path, ", seed ", options_.seed,
                        options_.dihedral_aug ? ", random dihedral orientation" : "", ")");
  }

 private:
  GeneratorOptions options_;
  DataShape shape_;
};

class PoolSource : public ExampleSource {
 public:
  PoolSource(std::vector<Example> examples, DataShape shape, uint64_t seed, std::string what)
      : examples_(std::move(examples)),
        shape_(std::move(shape)),
        seed_(seed),
        what_(std::move(what)) {}
  const DataShape& shape() const override { return shape_; }
  int64_t size() const override { return static_cast<int64_t>(examples_.size()); }
  absl::StatusOr<Example> Get(int64_t index) override {
    if (examples_.empty()) return absl::FailedPreconditionError(what_ + ": no examples");
    if (index < 0) return absl::InvalidArgumentError(absl::StrCat(what_, ": index ", index));
    const int64_t n = size();
    const int64_t epoch = index / n;
    if (epoch != epoch_) {
      order_.resize(n);
      std::iota(order_.begin(), order_.end(), int64_t{0});
      std::mt19937_64 rng(MixSeed(seed_, static_cast<uint64_t>(epoch)));
      std::shuffle(order_.begin(), order_.end(), rng);
      epoch_ = epoch;
    }
    return examples_[order_[index % n]];
  }
  std::string Describe() const override {
    return absl::StrCat(what_, " (", examples_.size(), " examples)");
  }

 private:
  std::vector<Example> examples_;
  DataShape shape_;
  uint64_t seed_;
  std::string what_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ExampleSource>> MakeGeneratorSource(
    const GeneratorOptions& options) {
  if (options.task == "sudoku") return std::make_unique<SudokuSource>(options);
  if (options.task == "maze") {
    if (options.maze_side < 5 || options.maze_side > puzzle::kMazeMaxSide) {
      return absl::InvalidArgumentError(
          absl::StrCat("maze_side: ", options.maze_side, " is outside 5..30"));
    }
    return std::make_unique<MazeSource>(options);
  }
  return absl::InvalidArgumentError("task: cannot generate '" + options.task +
                                    "' (expected sudoku or maze; ARC needs --data_dir)");
}

absl::StatusOr<std::vector<Example>> Materialize(ExampleSource& source, int64_t count) {
  std::vector<Example> out;
  out.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    auto e = source.Get(i);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

std::unique_ptr<ExampleSource> MakePoolSource(std::vector<Example> examples, DataShape shape,
                                              uint64_t seed, std::string description) {
  return std::make_unique<PoolSource>(std::move(examples), std::move(shape), seed,
                                      std::move(description));
}

}  // namespace trm::train
