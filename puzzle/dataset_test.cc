#include "puzzle/dataset.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "puzzle/npy.h"
#include "puzzle/puzzle_file.h"

namespace trm::puzzle {
namespace {

std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

DatasetSplit Small() {
  DatasetSplit s;
  s.metadata.vocab_size = 5;
  s.metadata.seq_len = 3;
  s.metadata.num_puzzle_identifiers = 3;
  s.set.seq_len = 3;
  // Group 1: puzzle 1 (two examples), puzzle 2 (one). Group 2: puzzle 1 again (one).
  std::vector<int32_t> a = {1, 2, 3}, b = {4, 4, 0};
  s.set.AddExample(a, b);
  s.set.AddExample(b, a);
  s.set.EndPuzzle(1);
  s.set.AddExample(a, a);
  s.set.EndPuzzle(2);
  s.set.EndGroup();
  s.set.AddExample(b, b);
  s.set.EndPuzzle(1);
  s.set.EndGroup();
  FillDatasetStatistics(s.set, s.metadata);
  return s;
}

TEST(Dataset, BuilderIndicesAndStatistics) {
  DatasetSplit s = Small();
  EXPECT_EQ(s.set.puzzle_indices, (std::vector<int32_t>{0, 2, 3, 4}));
  EXPECT_EQ(s.set.group_indices, (std::vector<int32_t>{0, 2, 3}));
  EXPECT_EQ(s.set.puzzle_identifiers, (std::vector<int32_t>{1, 2, 1}));
  EXPECT_EQ(s.metadata.total_groups, 2);
  EXPECT_EQ(s.metadata.total_puzzles, 3);
  EXPECT_DOUBLE_EQ(s.metadata.mean_puzzle_examples, 4.0 / 3);
  EXPECT_TRUE(s.set.Validate(5).ok());
}

TEST(Dataset, ValidateErrors) {
  DatasetSplit s = Small();
  EXPECT_EQ(s.set.Validate(4).error().message,
            "dataset: inputs token 4 at example 1 position 0 is outside 0..3");
  DatasetSet bad = s.set;
  bad.labels.pop_back();
  EXPECT_EQ(bad.Validate().error().message, "dataset: 12 input tokens but 11 label tokens");
  bad = s.set;
  bad.puzzle_indices[2] = 1;
  EXPECT_EQ(bad.Validate().error().message, "dataset: puzzle_indices decreases at index 2");
  bad = s.set;
  bad.group_indices.back() = 2;
  EXPECT_EQ(bad.Validate().error().message, "dataset: group_indices ends at 2, expected 3");
  bad = s.set;
  bad.puzzle_identifiers.push_back(0);
  EXPECT_EQ(bad.Validate().error().message,
            "dataset: 4 puzzle_indices for 4 puzzles (expected one more)");
  bad = s.set;
  bad.group_indices[0] = 1;
  EXPECT_EQ(bad.Validate().error().message, "dataset: group_indices must start at 0");
}

TEST(Dataset, WriteReadRoundTripAndNumpyLoadsIt) {
  std::string dir = TempDir("dataset_test");
  DatasetSplit s = Small();
  ASSERT_TRUE(WriteDatasetSplit(dir, "train", s).ok());
  ASSERT_TRUE(WriteIdentifiers(dir, {"<blank>", "a", "b"}).ok());
  auto back = ReadDatasetSplit(dir, "train");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->set.inputs, s.set.inputs);
  EXPECT_EQ(back->set.labels, s.set.labels);
  EXPECT_EQ(back->set.puzzle_indices, s.set.puzzle_indices);
  EXPECT_EQ(back->set.group_indices, s.set.group_indices);
  EXPECT_EQ(back->set.puzzle_identifiers, s.set.puzzle_identifiers);
  EXPECT_EQ(DatasetMetadataToJson(back->metadata), DatasetMetadataToJson(s.metadata));
  EXPECT_EQ(*ReadIdentifiers(dir), (std::vector<std::string>{"<blank>", "a", "b"}));

  // What the official PuzzleDataset reads: metadata fields and the arrays' dtypes and shapes.
  std::string command =
      "/usr/bin/python3 -c \"import json, numpy as np\n"
      "d = '" +
      dir +
      "/train/'\n"
      "m = json.load(open(d + 'dataset.json'))\n"
      "a = {k: np.load(d + 'all__' + k + '.npy') for k in ['inputs', 'labels', "
      "'puzzle_identifiers', 'puzzle_indices', 'group_indices']}\n"
      "print(sorted(m), m['seq_len'], m['total_puzzles'], m['ignore_label_id'])\n"
      "print(a['inputs'].dtype, a['inputs'].shape, a['labels'].shape, "
      "a['puzzle_identifiers'].dtype,"
      " a['puzzle_indices'].tolist(), a['group_indices'].tolist())\n"
      "print(json.load(open('" +
      dir + "/identifiers.json')))\n\" 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe.get())) > 0) out.append(buf, n);
  EXPECT_EQ(out,
            "['blank_identifier_id', 'ignore_label_id', 'mean_puzzle_examples', "
            "'num_puzzle_identifiers', 'pad_id', 'seq_len', 'sets', 'total_groups', "
            "'total_puzzles', 'vocab_size'] 3 3 0\n"
            "uint8 (4, 3) (4, 3) int32 [0, 2, 3, 4] [0, 2, 3]\n"
            "['<blank>', 'a', 'b']\n");
  std::filesystem::remove_all(dir);
}

TEST(Dataset, MappedReaderSeesWhatWasWritten) {
  std::string dir = TempDir("dataset_reader_test");
  DatasetSplit s = Small();
  ASSERT_TRUE(WriteDatasetSplit(dir, "train", s).ok());
  auto r = DatasetSplitReader::Open(dir, "train");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->num_examples(), 4);
  EXPECT_EQ((*r)->seq_len(), 3);
  EXPECT_EQ((*r)->puzzle_indices(), s.set.puzzle_indices);
  EXPECT_EQ((*r)->group_indices(), s.set.group_indices);
  EXPECT_EQ((*r)->puzzle_identifiers(), s.set.puzzle_identifiers);
  std::vector<int32_t> row(3);
  for (int64_t i = 0; i < 4; ++i) {
    (*r)->Input(i, row);
    EXPECT_EQ(row,
              std::vector<int32_t>(s.set.inputs.begin() + i * 3, s.set.inputs.begin() + i * 3 + 3));
    (*r)->Label(i, row);
    EXPECT_EQ(row,
              std::vector<int32_t>(s.set.labels.begin() + i * 3, s.set.labels.begin() + i * 3 + 3));
  }
  // int32 token arrays (as some builders write) are read into memory instead.
  ASSERT_TRUE(
      WriteNpy(dir + "/train/all__labels.npy", NpyDtype::kInt32, {4, 3}, s.set.labels).ok());
  auto r2 = DatasetSplitReader::Open(dir, "train");
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  (*r2)->Label(3, row);
  EXPECT_EQ(row, (std::vector<int32_t>{4, 4, 0}));
  // Errors.
  ASSERT_TRUE(
      WriteNpy(dir + "/train/all__labels.npy", NpyDtype::kUInt8, {3, 3}, std::vector<int32_t>(9, 1))
          .ok());
  EXPECT_EQ(DatasetSplitReader::Open(dir, "train").error().message,
            dir + "/train/all__inputs.npy/labels.npy: 4 and 3 examples");
  std::filesystem::remove(dir + "/train/all__inputs.npy");
  EXPECT_EQ(DatasetSplitReader::Open(dir, "train").error().message,
            "npy: cannot read " + dir + "/train/all__inputs.npy: No such file or directory");
  std::filesystem::remove_all(dir);
}

TEST(Dataset, ReadErrorsNameTheFile) {
  std::string dir = TempDir("dataset_test_err");
  auto missing = ReadDatasetSplit(dir, "train");
  EXPECT_EQ(missing.error().message,
            "dataset: cannot read " + dir + "/train/dataset.json: No such file or directory");
  DatasetSplit s = Small();
  ASSERT_TRUE(WriteDatasetSplit(dir, "train", s).ok());
  std::filesystem::remove(dir + "/train/all__labels.npy");
  EXPECT_EQ(ReadDatasetSplit(dir, "train").error().message,
            "npy: cannot read " + dir + "/train/all__labels.npy: No such file or directory");
  ASSERT_TRUE(
      WriteNpy(dir + "/train/all__labels.npy", NpyDtype::kUInt8, {4, 2}, std::vector<int32_t>(8, 1))
          .ok());
  EXPECT_EQ(ReadDatasetSplit(dir, "train").error().message,
            dir + "/train/all__inputs.npy/labels.npy: shapes do not match seq_len 3");
  ASSERT_TRUE(WriteTextFile(dir + "/train/dataset.json", "{\"pad_id\": 0}").ok());
  EXPECT_EQ(ReadDatasetSplit(dir, "train").error().message,
            dir + "/train/dataset.json: dataset.json: no \"blank_identifier_id\"");
  s.metadata.seq_len = 4;
  EXPECT_EQ(WriteDatasetSplit(dir, "x", s).error().message,
            "dataset: set seq_len 3 differs from metadata 4");
  std::filesystem::remove_all(dir);
}

TEST(Dataset, MetadataJson) {
  auto m = ParseDatasetMetadata(
      R"({"pad_id": 0, "ignore_label_id": null, "blank_identifier_id": 0, "vocab_size": 11,
          "seq_len": 81, "num_puzzle_identifiers": 1, "total_groups": 2,
          "mean_puzzle_examples": 1.0, "total_puzzles": 4, "sets": ["all"]})");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->ignore_label_id.has_value());
  EXPECT_EQ(m->vocab_size, 11);
  EXPECT_EQ(m->sets, std::vector<std::string>{"all"});
  EXPECT_EQ(ParseDatasetMetadata("[").error().message, "dataset.json: not a JSON object");
  EXPECT_EQ(ParseDatasetMetadata(R"({"pad_id": "x"})").error().message,
            "dataset.json: \"pad_id\" is not an integer");
}

}  // namespace
}  // namespace trm::puzzle
