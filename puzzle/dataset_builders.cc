#include "puzzle/dataset_builders.h"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "puzzle/arc_augment.h"
#include "puzzle/arc_json.h"
#include "puzzle/dihedral.h"
#include "puzzle/puzzle_file.h"
#include "puzzle/sudoku_augment.h"

namespace trm::puzzle {
namespace {

DatasetMetadata BaseMetadata(int vocab_size, int seq_len) {
  DatasetMetadata m;
  m.pad_id = 0;
  m.ignore_label_id = 0;
  m.blank_identifier_id = 0;
  m.vocab_size = vocab_size;
  m.seq_len = seq_len;
  m.num_puzzle_identifiers = 1;
  m.sets = {"all"};
  return m;
}

// The examples of one ARC task bound for one split.
using ArcPairs = std::vector<std::pair<ArcGrid, ArcGrid>>;

std::string PairsKey(const ArcPairs& pairs) {
  // The official puzzle_hash: the multiset of (input, label) grids, shapes included.
  std::vector<std::string> keys;
  for (const auto& [in, out] : pairs) {
    std::string k;
    for (const ArcGrid* g : {&in, &out}) {
      k += static_cast<char>(g->rows);
      k += static_cast<char>(g->cols);
      k.append(g->cells.begin(), g->cells.end());
      k += '|';
    }
    keys.push_back(std::move(k));
  }
  std::sort(keys.begin(), keys.end());
  std::string all;
  for (auto& k : keys) all += k;
  return all;
}

struct ArcPuzzle {
  std::string name;
  ArcPairs train_pairs, test_pairs;  // By destination split.
};

}  // namespace

DatasetSplit BuildSudokuSplit(const std::vector<SudokuPair>& pairs,
                              const SudokuDatasetOptions& options, const ProgressFn& progress) {
  DatasetSplit split;
  split.metadata = BaseMetadata(kSudokuVocabSize, kSudokuSeqLen);
  split.set.seq_len = kSudokuSeqLen;
  std::mt19937_64 rng(options.seed);
  const int per = 1 + std::max(0, options.num_aug);
  split.set.inputs.reserve(pairs.size() * per * kSudokuSeqLen);
  split.set.labels.reserve(pairs.size() * per * kSudokuSeqLen);
  for (size_t i = 0; i < pairs.size(); ++i) {
    for (int a = 0; a < per; ++a) {
      SudokuPair p = pairs[i];
      if (a > 0) {
        SudokuShuffle s = RandomSudokuShuffle(rng);
        p = {s.Apply(p.puzzle), s.Apply(p.solution)};
      }
      split.set.AddExample(SudokuToTokens(p.puzzle), SudokuToTokens(p.solution));
      split.set.EndPuzzle(0);
    }
    split.set.EndGroup();
    if (progress && (i + 1) % 1000 == 0) progress(i + 1, pairs.size());
  }
  FillDatasetStatistics(split.set, split.metadata);
  return split;
}

Expected<DatasetSplit> BuildMazeSplit(const std::vector<MazePair>& pairs,
                                      const MazeDatasetOptions& options,
                                      const ProgressFn& progress) {
  DatasetSplit split;
  split.metadata = BaseMetadata(kMazeVocabSize, options.side * options.side);
  split.set.seq_len = options.side * options.side;
  const int per = options.dihedral_aug ? kNumDihedral : 1;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const MazePair& p = pairs[i];
    if (p.puzzle.rows != p.puzzle.cols || p.solution.rows != p.puzzle.rows ||
        p.solution.cols != p.puzzle.cols) {
      return Error{"maze dataset: maze " + std::to_string(i + 1) + " is " +
                   std::to_string(p.puzzle.rows) + "x" + std::to_string(p.puzzle.cols) +
                   " (answer " + std::to_string(p.solution.rows) + "x" +
                   std::to_string(p.solution.cols) + "); mazes must be square and match"};
    }
    auto in = MazeToTokens(p.puzzle, options.side);
    auto out = MazeToTokens(p.solution, options.side);
    if (!in.ok()) return Error{"maze dataset: maze " + std::to_string(i + 1) + ": " + in.error().message};
    if (!out.ok()) return Error{"maze dataset: maze " + std::to_string(i + 1) + ": " + out.error().message};
    for (int k = 0; k < per; ++k) {
      split.set.AddExample(DihedralTransform(*in, options.side, options.side, k),
                           DihedralTransform(*out, options.side, options.side, k));
      split.set.EndPuzzle(0);
    }
    split.set.EndGroup();
    if (progress && (i + 1) % 1000 == 0) progress(i + 1, pairs.size());
  }
  FillDatasetStatistics(split.set, split.metadata);
  return split;
}

Expected<ArcDataset> BuildArcDataset(const std::vector<ArcTask>& train_sets,
                                     const std::vector<ArcTask>& test_sets,
                                     const ArcDatasetOptions& options,
                                     const ProgressFn& progress) {
  if (options.num_aug < 0) return Error{"arc dataset: num_aug must not be negative"};
  if (options.puzzle_identifiers_start < 1) {
    return Error{"arc dataset: puzzle_identifiers_start must be at least 1 (0 is <blank>)"};
  }
  std::mt19937_64 rng(options.seed);
  ArcDataset ds;
  // Groups of puzzles: the original and its augmentations.
  std::vector<std::vector<ArcPuzzle>> groups;
  const int64_t total = int64_t(train_sets.size() + test_sets.size());
  int64_t done = 0;
  for (int source = 0; source < 2; ++source) {
    const bool is_test_set = source == 1;
    for (const ArcTask& task : is_test_set ? test_sets : train_sets) {
      ArcPuzzle original{task.id, {}, {}};
      for (const auto& e : task.train) {
        if (!e.output) return Error{"arc dataset: task " + task.id + " has a train input without output"};
        original.train_pairs.emplace_back(e.input, *e.output);
      }
      for (const auto& e : task.test) {
        // The official builder fills unknown test outputs with a dummy [[0]].
        ArcGrid out = e.output ? *e.output : ArcGrid{1, 1, {0}};
        (is_test_set ? original.test_pairs : original.train_pairs).emplace_back(e.input, out);
      }
      std::vector<ArcPuzzle> group = {original};
      std::set<std::string> seen;
      seen.insert(PairsKey(original.train_pairs) + "#" + PairsKey(original.test_pairs));
      for (int trial = 0; trial < 5 * options.num_aug && int(group.size()) < options.num_aug + 1;
           ++trial) {
        ArcAugmentation aug = RandomArcAugmentation(rng);
        ArcPuzzle p{aug.Name(task.id), {}, {}};
        if (aug.is_identity()) p.name = task.id + "|||t0|||0123456789";  // Never kept: same hash.
        for (const auto& [in, out] : original.train_pairs) {
          p.train_pairs.emplace_back(aug.Apply(in), aug.Apply(out));
        }
        for (const auto& [in, out] : original.test_pairs) {
          p.test_pairs.emplace_back(aug.Apply(in), aug.Apply(out));
        }
        if (seen.insert(PairsKey(p.train_pairs) + "#" + PairsKey(p.test_pairs)).second) {
          group.push_back(std::move(p));
        }
      }
      if (is_test_set) ds.test_tasks.push_back(task);
      groups.push_back(std::move(group));
      if (progress) progress(++done, total);
    }
  }
  // Identifiers in order of first appearance, train split first (as the official dict order).
  std::map<std::string, int> ids;
  ds.identifiers.assign(options.puzzle_identifiers_start, "<blank>");
  auto id_of = [&](const std::string& name) {
    auto [it, inserted] = ids.emplace(name, static_cast<int>(ds.identifiers.size()));
    if (inserted) ds.identifiers.push_back(name);
    return it->second;
  };
  for (bool test_split : {false, true}) {
    DatasetSplit& split = test_split ? ds.test : ds.train;
    split.metadata = BaseMetadata(kArcVocabSize, kArcSeqLen);
    split.set.seq_len = kArcSeqLen;
    for (const auto& group : groups) {
      bool any = false;
      for (const ArcPuzzle& p : group) {
        const ArcPairs& pairs = test_split ? p.test_pairs : p.train_pairs;
        if (pairs.empty()) continue;
        any = true;
        int id = id_of(p.name);
        // Translation only in train, and never for one randomly chosen example per puzzle.
        const int no_aug_id = std::uniform_int_distribution<int>(0, int(pairs.size()) - 1)(rng);
        for (int e = 0; e < int(pairs.size()); ++e) {
          const auto& [in, out] = pairs[e];
          int pad_r = 0, pad_c = 0;
          if (!test_split && e != no_aug_id) {
            pad_r = std::uniform_int_distribution<int>(
                0, kArcMaxSide - std::max(in.rows, out.rows))(rng);
            pad_c = std::uniform_int_distribution<int>(
                0, kArcMaxSide - std::max(in.cols, out.cols))(rng);
          }
          split.set.AddExample(ArcGridToTokens(in, pad_r, pad_c), ArcGridToTokens(out, pad_r, pad_c));
        }
        split.set.EndPuzzle(id);
      }
      if (any) split.set.EndGroup();
    }
    FillDatasetStatistics(split.set, split.metadata);
  }
  ds.train.metadata.num_puzzle_identifiers = static_cast<int>(ds.identifiers.size());
  ds.test.metadata.num_puzzle_identifiers = static_cast<int>(ds.identifiers.size());
  return ds;
}

Expected<void> WriteArcDataset(const std::string& dir, const ArcDataset& dataset) {
  if (auto ok = WriteDatasetSplit(dir, "train", dataset.train); !ok.ok()) return ok;
  if (auto ok = WriteDatasetSplit(dir, "test", dataset.test); !ok.ok()) return ok;
  if (auto ok = WriteIdentifiers(dir, dataset.identifiers); !ok.ok()) return ok;
  // test_puzzles.json: the test tasks in ARC JSON, test outputs included (the evaluator reads
  // pair["output"]).
  nlohmann::json tasks = nlohmann::json::object();
  for (const ArcTask& t : dataset.test_tasks) {
    nlohmann::json task = {{"train", nlohmann::json::array()}, {"test", nlohmann::json::array()}};
    for (const auto* examples : {&t.train, &t.test}) {
      for (const auto& e : *examples) {
        nlohmann::json ex = {{"input", ArcGridToRows(e.input)}};
        ex["output"] = e.output ? nlohmann::json(ArcGridToRows(*e.output))
                                : nlohmann::json::array({nlohmann::json::array({0})});
        task[examples == &t.train ? "train" : "test"].push_back(std::move(ex));
      }
    }
    tasks[t.id] = std::move(task);
  }
  return WriteTextFile((std::filesystem::path(dir) / "test_puzzles.json").string(), tasks.dump());
}

}  // namespace trm::puzzle
