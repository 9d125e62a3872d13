// MakeDatasetSource: an official-format dataset directory as an ExampleSource, sampled the way
// the official PuzzleDataset samples its training split: every epoch visits the groups in a
// fresh permutation and, for each group, one randomly chosen puzzle (an augmentation) with all
// of its examples.
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "puzzle/dataset.h"
#include "train/data.h"
#include "train/losses.h"

namespace trm::train {
namespace {

class DatasetSource : public ExampleSource {
 public:
  DatasetSource(puzzle::DatasetSplit split, DataShape shape, uint64_t seed, std::string what)
      : split_(std::move(split)), shape_(std::move(shape)), seed_(seed), what_(std::move(what)) {}
  const DataShape& shape() const override { return shape_; }
  int64_t size() const override { return split_.set.num_examples(); }

  absl::StatusOr<Example> Get(int64_t index) override {
    if (index < 0) return absl::InvalidArgumentError(absl::StrCat(what_, ": index ", index));
    if (split_.set.num_groups() <= 0) return absl::FailedPreconditionError(what_ + ": no groups");
    // Epochs have different lengths (puzzles differ in example count), so walk forward from
    // the epoch in hand; going back restarts from epoch 0 (only a resume does that).
    if (epoch_ < 0 || index < epoch_start_) StartEpoch(0, 0);
    while (index >= epoch_start_ + static_cast<int64_t>(order_.size())) {
      StartEpoch(epoch_ + 1, epoch_start_ + static_cast<int64_t>(order_.size()));
    }
    return ExampleAt(order_[index - epoch_start_]);
  }
  std::string Describe() const override {
    return absl::StrCat(what_, " (", split_.set.num_groups(), " groups, ", split_.set.num_puzzles(),
                        " puzzles, ", size(), " examples)");
  }

  Example ExampleAt(int64_t e) const {
    const auto& s = split_.set;
    Example out;
    out.inputs.assign(s.inputs.begin() + e * s.seq_len, s.inputs.begin() + (e + 1) * s.seq_len);
    out.labels.assign(s.labels.begin() + e * s.seq_len, s.labels.begin() + (e + 1) * s.seq_len);
    if (split_.metadata.ignore_label_id.has_value()) {
      for (auto& l : out.labels) {
        if (l == *split_.metadata.ignore_label_id) l = static_cast<int32_t>(kIgnoreLabel);
      }
    }
    // The puzzle an example belongs to: the last puzzle_indices entry <= e.
    auto it =
        std::upper_bound(s.puzzle_indices.begin(), s.puzzle_indices.end(), static_cast<int32_t>(e));
    out.puzzle_id = s.puzzle_identifiers[(it - s.puzzle_indices.begin()) - 1];
    return out;
  }

 private:
  void StartEpoch(int64_t epoch, int64_t start) {
    const auto& s = split_.set;
    std::mt19937_64 rng(MixSeed(seed_, static_cast<uint64_t>(epoch)));
    std::vector<int64_t> groups(s.num_groups());
    std::iota(groups.begin(), groups.end(), int64_t{0});
    std::shuffle(groups.begin(), groups.end(), rng);
    order_.clear();
    for (int64_t g : groups) {
      const int64_t first = s.group_indices[g], last = s.group_indices[g + 1];
      const int64_t p = first + static_cast<int64_t>(rng() % static_cast<uint64_t>(last - first));
      for (int64_t e = s.puzzle_indices[p]; e < s.puzzle_indices[p + 1]; ++e) order_.push_back(e);
    }
    epoch_ = epoch;
    epoch_start_ = start;
  }

  puzzle::DatasetSplit split_;
  DataShape shape_;
  uint64_t seed_;
  std::string what_;
  int64_t epoch_ = -1;
  int64_t epoch_start_ = 0;
  std::vector<int64_t> order_;
};

// The test split is evaluated in order, every example once.
class InOrderSource : public ExampleSource {
 public:
  explicit InOrderSource(std::unique_ptr<DatasetSource> inner) : inner_(std::move(inner)) {}
  const DataShape& shape() const override { return inner_->shape(); }
  int64_t size() const override { return inner_->size(); }
  absl::StatusOr<Example> Get(int64_t index) override {
    if (index < 0 || index >= size()) {
      return absl::OutOfRangeError(absl::StrCat(Describe(), ": no example ", index));
    }
    return inner_->ExampleAt(index);
  }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  std::unique_ptr<DatasetSource> inner_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ExampleSource>> MakeDatasetSource(const std::string& dir,
                                                                 const std::string& split,
                                                                 uint64_t seed) {
  auto data = puzzle::ReadDatasetSplit(dir, split);
  if (!data.ok()) return absl::InvalidArgumentError(data.error().message);
  DataShape shape;
  shape.seq_len = data->metadata.seq_len;
  shape.vocab_size = data->metadata.vocab_size;
  shape.num_puzzle_identifiers = data->metadata.num_puzzle_identifiers;
  if (shape.seq_len == 81 && shape.vocab_size == 11) {
    shape.task = {{"kind", "sudoku"}};
  } else if (shape.vocab_size == 12 && shape.seq_len == 900) {
    shape.task = {{"kind", "arc"}};
  } else if (shape.vocab_size == 6) {
    int side = 1;
    while (side * side < shape.seq_len) ++side;
    shape.task = {{"kind", "maze"}, {"side", side}};
  } else {
    shape.task = {{"kind", "tokens"}};
  }
  if (auto ids = puzzle::ReadIdentifiers(dir); ids.ok()) shape.puzzle_identifiers = *ids;
  auto source = std::make_unique<DatasetSource>(std::move(*data), std::move(shape), seed,
                                                absl::StrCat(dir, "/", split));
  if (split == "train") return std::unique_ptr<ExampleSource>(std::move(source));
  return std::unique_ptr<ExampleSource>(std::make_unique<InOrderSource>(std::move(source)));
}

}  // namespace trm::train
