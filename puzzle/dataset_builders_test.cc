#include "puzzle/dataset_builders.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "base/test_data.h"
#include "puzzle/arc_augment.h"
#include "puzzle/arc_json.h"
#include "puzzle/maze_generator.h"
#include "puzzle/maze_solver.h"
#include "puzzle/puzzle_file.h"
#include "puzzle/sudoku_generator.h"
#include "puzzle/sudoku_solver.h"

namespace trm::puzzle {
namespace {

// The ARC dataset tests run on the real tasks (../shared/data/arc) where they are, and always on
// tests/data/arc's generated ones, which have the same files.
class ArcTasksIn : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) TRM_SKIP_WITHOUT_SHARED(Dir() / "arc-agi_evaluation_challenges.json");
  }
  std::filesystem::path Dir() const {
    return GetParam() ? test_data::SharedDir() / "data" / "arc" : test_data::TestDataDir() / "arc";
  }
  Expected<std::vector<ArcTask>> Read(const std::string& subset) const {
    return ReadArcTasks((Dir() / ("arc-agi_" + subset + "_challenges.json")).string(),
                        (Dir() / ("arc-agi_" + subset + "_solutions.json")).string());
  }
};
std::string SourceName(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "Shared" : "Generated";
}

std::span<const int32_t> Row(const std::vector<int32_t>& v, int64_t i, int seq_len) {
  return std::span(v).subspan(i * seq_len, seq_len);
}

TEST(SudokuSplit, GroupsOfShuffledCopiesThatStillVerify) {
  SudokuGenerator gen({.seed = 2});
  std::vector<SudokuPair> pairs;
  for (int i = 0; i < 4; ++i) {
    auto g = gen.Next();
    ASSERT_TRUE(g.ok());
    pairs.push_back({g->puzzle, g->solution});
  }
  DatasetSplit split = BuildSudokuSplit(pairs, {.seed = 1, .num_aug = 3});
  EXPECT_EQ(split.set.num_examples(), 16);
  EXPECT_EQ(split.set.num_puzzles(), 16);
  EXPECT_EQ(split.set.group_indices, (std::vector<int32_t>{0, 4, 8, 12, 16}));
  EXPECT_EQ(split.metadata.vocab_size, 11);
  EXPECT_EQ(split.metadata.total_groups, 4);
  EXPECT_DOUBLE_EQ(split.metadata.mean_puzzle_examples, 1.0);
  for (int64_t i = 0; i < 16; ++i) {
    auto p = SudokuFromTokens(Row(split.set.inputs, i, 81));
    auto s = SudokuFromTokens(Row(split.set.labels, i, 81));
    ASSERT_TRUE(p.ok() && s.ok());
    ASSERT_TRUE(VerifySudokuAnswer(*p, *s).ok());
    EXPECT_EQ(SolveSudoku(*p).solution, *s);
    if (i % 4 == 0) {
      EXPECT_EQ(*p, pairs[i / 4].puzzle);  // The original comes first.
    }
  }
}

TEST(MazeSplit, DihedralCopiesStillVerify) {
  MazeGenerator gen({.seed = 3, .side = 11});
  std::vector<MazePair> pairs;
  for (int i = 0; i < 3; ++i) {
    auto g = gen.Next();
    ASSERT_TRUE(g.ok());
    pairs.push_back({g->puzzle, g->solution});
  }
  auto split = BuildMazeSplit(pairs, {.dihedral_aug = true});
  ASSERT_TRUE(split.ok()) << split.error().message;
  EXPECT_EQ(split->set.num_examples(), 24);
  EXPECT_EQ(split->metadata.seq_len, 900);
  EXPECT_EQ(split->metadata.vocab_size, 6);
  std::set<std::vector<int32_t>> distinct;
  for (int64_t i = 0; i < 24; ++i) {
    auto p = MazeFromTokens(Row(split->set.inputs, i, 900), 30, 30);
    auto s = MazeFromTokens(Row(split->set.labels, i, 900), 30, 30);
    ASSERT_TRUE(p.ok() && s.ok());
    auto verdict = VerifyMazeAnswer(*p, *s);
    ASSERT_TRUE(verdict.ok()) << verdict.error().message;
    auto row = Row(split->set.inputs, i, 900);
    distinct.insert(std::vector<int32_t>(row.begin(), row.end()));
  }
  EXPECT_GT(distinct.size(), 20u);
  pairs[0].solution.rows = 5;
  EXPECT_EQ(BuildMazeSplit(pairs, {}).error().message,
            "maze dataset: maze 1 is 11x11 (answer 5x11); mazes must be square and match");
}

TEST_P(ArcTasksIn, ArcDatasetHasTheOfficialLayout) {
  auto train = Read("training");
  auto eval = Read("evaluation");
  ASSERT_TRUE(train.ok() && eval.ok());
  train->resize(5);
  eval->resize(4);
  auto ds = BuildArcDataset(*train, *eval, {.seed = 42, .num_aug = 6});
  ASSERT_TRUE(ds.ok()) << ds.error().message;
  // Names: <blank>, then each task and its augmentations.
  EXPECT_EQ(ds->identifiers[0], "<blank>");
  EXPECT_EQ(ds->identifiers.size(), 1u + 9 * 7);
  EXPECT_EQ(ds->train.metadata.num_puzzle_identifiers, 64);
  EXPECT_EQ(ds->train.metadata.vocab_size, 12);
  EXPECT_EQ(ds->train.metadata.total_groups, 9);  // Training and evaluation tasks.
  EXPECT_EQ(ds->test.metadata.total_groups, 4);   // Evaluation tasks only.
  EXPECT_EQ(ds->test.set.num_puzzles(), 4 * 7);
  EXPECT_EQ(ds->test_tasks.size(), 4u);
  // Every test-split example decodes (no translation there) and inverts to the task's test pair.
  for (int64_t p = 0; p < ds->test.set.num_puzzles(); ++p) {
    const std::string& name = ds->identifiers[ds->test.set.puzzle_identifiers[p]];
    auto parsed = ParseArcName(name);
    ASSERT_TRUE(parsed.ok()) << name;
    const ArcTask* task = nullptr;
    for (const auto& t : ds->test_tasks) task = t.id == parsed->task_id ? &t : task;
    ASSERT_NE(task, nullptr) << name;
    int first = ds->test.set.puzzle_indices[p], last = ds->test.set.puzzle_indices[p + 1];
    ASSERT_EQ(last - first, static_cast<int>(task->test.size()));
    for (int e = first; e < last; ++e) {
      auto in = ArcGridFromTokens(Row(ds->test.set.inputs, e, 900));
      auto out = ArcGridFromTokens(Row(ds->test.set.labels, e, 900));
      ASSERT_TRUE(in.ok() && out.ok());
      EXPECT_EQ(parsed->augmentation.Invert(*in), task->test[e - first].input) << name;
      EXPECT_EQ(parsed->augmentation.Invert(*out), *task->test[e - first].output) << name;
    }
  }
  // Train split: every example (translated or not) still holds its grid's colour tokens.
  for (int64_t e = 0; e < ds->train.set.num_examples(); ++e) {
    int colours = 0;
    for (int32_t t : Row(ds->train.set.inputs, e, 900)) colours += t >= 2;
    EXPECT_GT(colours, 0);
  }
}

TEST_P(ArcTasksIn, ArcDatasetIsWrittenThenReadBack) {
  auto eval = Read("evaluation");
  ASSERT_TRUE(eval.ok());
  eval->resize(3);
  auto ds = BuildArcDataset({}, *eval, {.num_aug = 2});
  ASSERT_TRUE(ds.ok());
  auto dir =
      (std::filesystem::temp_directory_path() / ("arc_dataset_test_" + std::to_string(::getpid())))
          .string();
  ASSERT_TRUE(WriteArcDataset(dir, *ds).ok());
  auto test = ReadDatasetSplit(dir, "test");
  ASSERT_TRUE(test.ok()) << test.error().message;
  EXPECT_EQ(test->set.inputs, ds->test.set.inputs);
  EXPECT_EQ(*ReadIdentifiers(dir), ds->identifiers);
  auto puzzles = ReadArcTasks(dir + "/test_puzzles.json");
  ASSERT_TRUE(puzzles.ok()) << puzzles.error().message;
  ASSERT_EQ(puzzles->size(), 3u);
  EXPECT_EQ((*puzzles)[0].test[0].output, (*eval)[0].test[0].output);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(BuildArcDataset({}, *eval, {.num_aug = -1}).error().message,
            "arc dataset: num_aug must not be negative");
}

// The streaming writers produce exactly what the in-memory builders do.
TEST_P(ArcTasksIn, StreamingWritersWriteTheSameFilesAsInMemory) {
  auto dir =
      (std::filesystem::temp_directory_path() / ("streaming_test_" + std::to_string(::getpid())))
          .string();
  auto eval = Read("evaluation");
  auto train = Read("training");
  ASSERT_TRUE(eval.ok() && train.ok());
  eval->resize(5);
  train->resize(5);
  ArcDatasetOptions options{.seed = 9, .num_aug = 4};
  auto memory = BuildArcDataset(*train, *eval, options);
  ASSERT_TRUE(memory.ok());
  auto summary = WriteArcDatasetStreaming(dir + "/arc", *train, *eval, options);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->train_examples, memory->train.set.num_examples());
  EXPECT_EQ(summary->identifiers, static_cast<int64_t>(memory->identifiers.size()));
  for (auto [name, split] :
       {std::pair{"train", &memory->train}, std::pair{"test", &memory->test}}) {
    auto read = ReadDatasetSplit(dir + "/arc", name);
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ(read->set.inputs, split->set.inputs) << name;
    EXPECT_EQ(read->set.labels, split->set.labels) << name;
    EXPECT_EQ(read->set.puzzle_indices, split->set.puzzle_indices) << name;
    EXPECT_EQ(read->set.group_indices, split->set.group_indices) << name;
    EXPECT_EQ(read->set.puzzle_identifiers, split->set.puzzle_identifiers) << name;
    EXPECT_EQ(DatasetMetadataToJson(read->metadata), DatasetMetadataToJson(split->metadata));
  }
  EXPECT_EQ(*ReadIdentifiers(dir + "/arc"), memory->identifiers);

  SudokuGenerator gen({.seed = 4});
  std::vector<SudokuPair> pairs;
  for (int i = 0; i < 3; ++i) {
    auto g = gen.Next();
    ASSERT_TRUE(g.ok());
    pairs.push_back({g->puzzle, g->solution});
  }
  auto sudoku_memory = BuildSudokuSplit(pairs, {.seed = 2, .num_aug = 5});
  auto written = WriteSudokuSplit(dir + "/sudoku", "train", pairs, {.seed = 2, .num_aug = 5});
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 18);
  auto sudoku_read = ReadDatasetSplit(dir + "/sudoku", "train");
  ASSERT_TRUE(sudoku_read.ok()) << sudoku_read.error().message;
  EXPECT_EQ(sudoku_read->set.inputs, sudoku_memory.set.inputs);
  EXPECT_EQ(DatasetMetadataToJson(sudoku_read->metadata),
            DatasetMetadataToJson(sudoku_memory.metadata));

  MazeGenerator maze_gen({.seed = 1, .side = 7});
  std::vector<MazePair> mazes = {{maze_gen.Next()->puzzle, {}}};
  mazes[0].solution = SolveMaze(mazes[0].puzzle).solution;
  auto maze_memory = BuildMazeSplit(mazes, {.dihedral_aug = true});
  auto maze_written = WriteMazeSplit(dir + "/maze", "train", mazes, {.dihedral_aug = true});
  ASSERT_TRUE(maze_memory.ok() && maze_written.ok());
  EXPECT_EQ(ReadDatasetSplit(dir + "/maze", "train")->set.labels, maze_memory->set.labels);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Data, ArcTasksIn, ::testing::Bool(), SourceName);

TEST(StreamingWriters, WriterErrors) {
  auto dir =
      (std::filesystem::temp_directory_path() / ("writer_test_" + std::to_string(::getpid())))
          .string();
  EXPECT_EQ(DatasetSplitWriter::Open(dir, "x", 0, 5).error().message,
            "dataset: seq_len 0 is not positive");
  EXPECT_EQ(DatasetSplitWriter::Open(dir, "x", 4, 300).error().message,
            "dataset: vocab_size 300 is outside 1..256 (tokens are stored as uint8)");
  auto w = DatasetSplitWriter::Open(dir, "x", 2, 3);
  ASSERT_TRUE(w.ok());
  std::vector<int32_t> good = {0, 2}, bad = {0, 3}, short_row = {1};
  EXPECT_EQ((*w)->AddExample(good, bad).error().message,
            "dataset: token 3 at example 0 position 1 is outside 0..2");
  EXPECT_EQ((*w)->AddExample(short_row, good).error().message,
            "dataset: example 0 has 1/2 tokens, seq_len is 2");
  ASSERT_TRUE((*w)->AddExample(good, good).ok());
  EXPECT_EQ((*w)->Finish({}).error().message,
            "dataset: " + dir + "/x finished inside a puzzle or group");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trm::puzzle
