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

// Where examples go: a DatasetSet in memory or a DatasetSplitWriter on disk.
struct MemorySink {
  DatasetSet& set;
  Expected<void> AddExample(std::span<const int32_t> in, std::span<const int32_t> out) {
    set.AddExample(in, out);
    return Ok();
  }
  void EndPuzzle(int32_t id) { set.EndPuzzle(id); }
  void EndGroup() { set.EndGroup(); }
};

// Adapts DatasetSplitWriter (held by pointer) to the sink interface.
struct WriterSink {
  DatasetSplitWriter* w;
  Expected<void> AddExample(std::span<const int32_t> in, std::span<const int32_t> out) {
    return w->AddExample(in, out);
  }
  void EndPuzzle(int32_t id) { w->EndPuzzle(id); }
  void EndGroup() { w->EndGroup(); }
};

// A split in memory: its metadata, the examples `emit(sink)` adds, then their statistics. One
// definition for Sudoku and mazes, which differ only in vocabulary, length and examples.
template <class Emit>
Expected<DatasetSplit> BuildSplit(int vocab_size, int seq_len, Emit emit) {
  DatasetSplit split;
  split.metadata = BaseMetadata(vocab_size, seq_len);
  split.set.seq_len = seq_len;
  MemorySink sink{split.set};
  if (auto ok = emit(sink); !ok.ok()) return ok.error();
  FillDatasetStatistics(split.set, split.metadata);
  return split;
}

// The same split streamed to dir/split through DatasetSplitWriter; returns how many examples it
// wrote.
template <class Emit>
Expected<int64_t> WriteSplit(const std::string& dir, const std::string& split, int vocab_size,
                             int seq_len, Emit emit) {
  auto writer = DatasetSplitWriter::Open(dir, split, seq_len, vocab_size);
  if (!writer.ok()) return writer.error();
  WriterSink sink{writer->get()};
  if (auto ok = emit(sink); !ok.ok()) return ok.error();
  if (auto ok = (*writer)->Finish(BaseMetadata(vocab_size, seq_len)); !ok.ok()) {
    return ok.error();
  }
  return (*writer)->num_examples();
}

// The Sudoku and maze layout: one group per pair, whose puzzles (identifier 0) hold one example
// each (ARC's puzzles hold several). `emit_pair(i, add)` calls add(input, label) once per puzzle
// of pair i; progress is per pair.
template <class Sink, class EmitPair>
Expected<void> EmitOneExamplePuzzles(size_t num_pairs, const ProgressFn& progress, Sink& sink,
                                     EmitPair emit_pair) {
  auto add = [&sink](std::span<const int32_t> in, std::span<const int32_t> out) {
    auto ok = sink.AddExample(in, out);
    if (ok.ok()) sink.EndPuzzle(0);
    return ok;
  };
  for (size_t i = 0; i < num_pairs; ++i) {
    if (auto ok = emit_pair(i, add); !ok.ok()) return ok;
    sink.EndGroup();
    if (progress) progress(i + 1, num_pairs);
  }
  return Ok();
}

template <class Sink>
Expected<void> EmitSudoku(const std::vector<SudokuPair>& pairs, const SudokuDatasetOptions& options,
                          const ProgressFn& progress, Sink& sink) {
  std::mt19937_64 rng(options.seed);
  const int per = 1 + std::max(0, options.num_aug);
  // The puzzle, then per - 1 shuffles of it.
  return EmitOneExamplePuzzles(pairs.size(), progress, sink, [&](size_t i, auto& add) {
    for (int a = 0; a < per; ++a) {
      SudokuPair p = pairs[i];
      if (a > 0) {
        SudokuShuffle s = RandomSudokuShuffle(rng);
        p = {s.Apply(p.puzzle), s.Apply(p.solution)};
      }
      if (auto ok = add(SudokuToTokens(p.puzzle), SudokuToTokens(p.solution)); !ok.ok()) return ok;
    }
    return Ok();
  });
}

template <class Sink>
Expected<void> EmitMaze(const std::vector<MazePair>& pairs, const MazeDatasetOptions& options,
                        const ProgressFn& progress, Sink& sink) {
  const int per = options.dihedral_aug ? kNumDihedral : 1;
  // The maze, then (with dihedral_aug) its 7 other dihedral transforms.
  return EmitOneExamplePuzzles(
      pairs.size(), progress, sink, [&](size_t i, auto& add) -> Expected<void> {
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
        if (!in.ok())
          return Error{"maze dataset: maze " + std::to_string(i + 1) + ": " + in.error().message};
        if (!out.ok())
          return Error{"maze dataset: maze " + std::to_string(i + 1) + ": " + out.error().message};
        for (int k = 0; k < per; ++k) {
          if (auto ok = add(DihedralTransform(*in, options.side, options.side, k),
                            DihedralTransform(*out, options.side, options.side, k));
              !ok.ok())
            return ok;
        }
        return Ok();
      });
}

// The official ARC layout, one task (group) at a time so a streaming sink never holds more than
// one task's augmentations. Identifiers are assigned in order of first appearance, train split
// first within each group.
template <class Sink>
Expected<void> EmitArc(const std::vector<ArcTask>& train_sets,
                       const std::vector<ArcTask>& test_sets, const ArcDatasetOptions& options,
                       const ProgressFn& progress, Sink& train_sink, Sink& test_sink,
                       std::vector<std::string>& identifiers, std::vector<ArcTask>& test_tasks) {
  if (options.num_aug < 0) return Error{"arc dataset: num_aug must not be negative"};
  if (options.puzzle_identifiers_start < 1) {
    return Error{"arc dataset: puzzle_identifiers_start must be at least 1 (0 is <blank>)"};
  }
  std::mt19937_64 rng(options.seed);
  std::map<std::string, int> ids;
  identifiers.assign(options.puzzle_identifiers_start, "<blank>");
  auto id_of = [&](const std::string& name) {
    auto [it, inserted] = ids.emplace(name, static_cast<int>(identifiers.size()));
    if (inserted) identifiers.push_back(name);
    return it->second;
  };
  const int64_t total = int64_t(train_sets.size() + test_sets.size());
  int64_t done = 0;
  for (int source = 0; source < 2; ++source) {
    const bool is_test_set = source == 1;
    for (const ArcTask& task : is_test_set ? test_sets : train_sets) {
      ArcPuzzle original{task.id, {}, {}};
      for (const auto& e : task.train) {
        if (!e.output) {
          return Error{"arc dataset: task " + task.id + " has a train input without output"};
        }
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
        for (const auto& [in, out] : original.train_pairs) {
          p.train_pairs.emplace_back(aug.Apply(in), aug.Apply(out));
        }
        for (const auto& [in, out] : original.test_pairs) {
          p.test_pairs.emplace_back(aug.Apply(in), aug.Apply(out));
        }
        // The identity (and any repeat) has the original's hash and is never kept.
        if (seen.insert(PairsKey(p.train_pairs) + "#" + PairsKey(p.test_pairs)).second) {
          group.push_back(std::move(p));
        }
      }
      for (bool test_split : {false, true}) {
        Sink& sink = test_split ? test_sink : train_sink;
        bool any = false;
        for (const ArcPuzzle& p : group) {
          const ArcPairs& pairs = test_split ? p.test_pairs : p.train_pairs;
          if (pairs.empty()) continue;
          any = true;
          const int id = id_of(p.name);
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
            if (auto ok = sink.AddExample(ArcGridToTokens(in, pad_r, pad_c),
                                          ArcGridToTokens(out, pad_r, pad_c));
                !ok.ok())
              return ok;
          }
          sink.EndPuzzle(id);
        }
        if (any) sink.EndGroup();
      }
      if (is_test_set) test_tasks.push_back(task);
      if (progress) progress(++done, total);
    }
  }
  return Ok();
}

Expected<void> WriteTestPuzzles(const std::string& dir, const std::vector<ArcTask>& test_tasks) {
  // test_puzzles.json: the test tasks in ARC JSON, test outputs included (the evaluator reads
  // pair["output"]).
  nlohmann::json tasks = nlohmann::json::object();
  for (const ArcTask& t : test_tasks) {
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

}  // namespace

DatasetSplit BuildSudokuSplit(const std::vector<SudokuPair>& pairs,
                              const SudokuDatasetOptions& options, const ProgressFn& progress) {
  // A memory sink cannot fail, so neither can this.
  return BuildSplit(kSudokuVocabSize, kSudokuSeqLen,
                    [&](MemorySink& sink) { return EmitSudoku(pairs, options, progress, sink); })
      .value();
}

Expected<DatasetSplit> BuildMazeSplit(const std::vector<MazePair>& pairs,
                                      const MazeDatasetOptions& options,
                                      const ProgressFn& progress) {
  return BuildSplit(kMazeVocabSize, options.side * options.side,
                    [&](MemorySink& sink) { return EmitMaze(pairs, options, progress, sink); });
}

Expected<ArcDataset> BuildArcDataset(const std::vector<ArcTask>& train_sets,
                                     const std::vector<ArcTask>& test_sets,
                                     const ArcDatasetOptions& options, const ProgressFn& progress) {
  ArcDataset ds;
  for (DatasetSplit* split : {&ds.train, &ds.test}) {
    split->metadata = BaseMetadata(kArcVocabSize, kArcSeqLen);
    split->set.seq_len = kArcSeqLen;
  }
  MemorySink train{ds.train.set}, test{ds.test.set};
  if (auto ok = EmitArc(train_sets, test_sets, options, progress, train, test, ds.identifiers,
                        ds.test_tasks);
      !ok.ok())
    return ok.error();
  for (DatasetSplit* split : {&ds.train, &ds.test}) {
    FillDatasetStatistics(split->set, split->metadata);
    split->metadata.num_puzzle_identifiers = static_cast<int>(ds.identifiers.size());
  }
  return ds;
}

Expected<void> WriteArcDataset(const std::string& dir, const ArcDataset& dataset) {
  if (auto ok = WriteDatasetSplit(dir, "train", dataset.train); !ok.ok()) return ok;
  if (auto ok = WriteDatasetSplit(dir, "test", dataset.test); !ok.ok()) return ok;
  if (auto ok = WriteIdentifiers(dir, dataset.identifiers); !ok.ok()) return ok;
  return WriteTestPuzzles(dir, dataset.test_tasks);
}

Expected<int64_t> WriteSudokuSplit(const std::string& dir, const std::string& split,
                                   const std::vector<SudokuPair>& pairs,
                                   const SudokuDatasetOptions& options,
                                   const ProgressFn& progress) {
  return WriteSplit(dir, split, kSudokuVocabSize, kSudokuSeqLen,
                    [&](WriterSink& sink) { return EmitSudoku(pairs, options, progress, sink); });
}

Expected<int64_t> WriteMazeSplit(const std::string& dir, const std::string& split,
                                 const std::vector<MazePair>& pairs,
                                 const MazeDatasetOptions& options, const ProgressFn& progress) {
  return WriteSplit(dir, split, kMazeVocabSize, options.side * options.side,
                    [&](WriterSink& sink) { return EmitMaze(pairs, options, progress, sink); });
}

Expected<ArcDatasetSummary> WriteArcDatasetStreaming(const std::string& dir,
                                                     const std::vector<ArcTask>& train_sets,
                                                     const std::vector<ArcTask>& test_sets,
                                                     const ArcDatasetOptions& options,
                                                     const ProgressFn& progress) {
  auto train = DatasetSplitWriter::Open(dir, "train", kArcSeqLen, kArcVocabSize);
  if (!train.ok()) return train.error();
  auto test = DatasetSplitWriter::Open(dir, "test", kArcSeqLen, kArcVocabSize);
  if (!test.ok()) return test.error();
  WriterSink train_sink{train->get()}, test_sink{test->get()};
  std::vector<std::string> identifiers;
  std::vector<ArcTask> test_tasks;
  if (auto ok = EmitArc(train_sets, test_sets, options, progress, train_sink, test_sink,
                        identifiers, test_tasks);
      !ok.ok())
    return ok.error();
  DatasetMetadata metadata = BaseMetadata(kArcVocabSize, kArcSeqLen);
  metadata.num_puzzle_identifiers = static_cast<int>(identifiers.size());
  if (auto ok = (*train)->Finish(metadata); !ok.ok()) return ok.error();
  if (auto ok = (*test)->Finish(metadata); !ok.ok()) return ok.error();
  if (auto ok = WriteIdentifiers(dir, identifiers); !ok.ok()) return ok.error();
  if (auto ok = WriteTestPuzzles(dir, test_tasks); !ok.ok()) return ok.error();
  return ArcDatasetSummary{(*train)->num_examples(), (*test)->num_examples(),
                           static_cast<int64_t>(identifiers.size())};
}

}  // namespace trm::puzzle
