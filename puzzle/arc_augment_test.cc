#include "puzzle/arc_augment.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "base/test_data.h"
#include "puzzle/arc_json.h"
#include "puzzle/dihedral.h"

namespace trm::puzzle {
namespace {

// The transform numbering must be numpy's: ask numpy itself (dataset/common.py semantics).
TEST(Dihedral, MatchesNumpy) {
  const int rows = 3, cols = 5;
  std::string script =
      "import numpy as np\n"
      "a = np.arange(15).reshape(3, 5)\n"
      "fs = [lambda x: x, lambda x: np.rot90(x, 1), lambda x: np.rot90(x, 2),\n"
      "      lambda x: np.rot90(x, 3), np.fliplr, np.flipud, lambda x: x.T,\n"
      "      lambda x: np.fliplr(np.rot90(x, 1))]\n"
      "for f in fs:\n"
      "    b = f(a)\n"
      "    print(b.shape[0], b.shape[1], *b.flatten().tolist())\n";
  std::string command = "/usr/bin/python3 -c '" + script + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  ASSERT_TRUE(pipe);
  std::vector<int> source(rows * cols);
  for (int i = 0; i < rows * cols; ++i) source[i] = i;
  for (int k = 0; k < 8; ++k) {
    int r, c;
    ASSERT_EQ(fscanf(pipe.get(), "%d %d", &r, &c), 2) << "numpy unavailable?";
    std::vector<int> expected(r * c);
    for (int& v : expected) ASSERT_EQ(fscanf(pipe.get(), "%d", &v), 1);
    auto [out_rows, out_cols] = DihedralShape(rows, cols, k);
    EXPECT_EQ(out_rows, r) << "transform " << k;
    EXPECT_EQ(out_cols, c) << "transform " << k;
    EXPECT_EQ(DihedralTransform(source, rows, cols, k), expected) << "transform " << k;
    auto inv = DihedralInverse(k);
    EXPECT_EQ(DihedralTransform(DihedralTransform(source, rows, cols, k), r, c, inv), source);
  }
}

TEST(ArcAugmentation, NamesAsTheOfficialBuilder) {
  ArcAugmentation aug;
  EXPECT_TRUE(aug.is_identity());
  EXPECT_EQ(aug.Name("00576224"), "00576224");
  aug.dihedral = 3;
  aug.colours = {0, 2, 1, 3, 4, 5, 6, 7, 9, 8};
  EXPECT_EQ(aug.Name("00576224"), "00576224|||t3|||0213456798");
  auto parsed = ParseArcName("00576224|||t3|||0213456798");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->task_id, "00576224");
  EXPECT_EQ(parsed->augmentation, aug);
  auto bare = ParseArcName("abc");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->task_id, "abc");
  EXPECT_TRUE(bare->augmentation.is_identity());
}

TEST(ArcAugmentation, NameErrors) {
  EXPECT_EQ(ParseArcName("x|||t9|||0123456789").error().message,
            "arc name \"x|||t9|||0123456789\": transform 9 is outside 0..7");
  EXPECT_EQ(ParseArcName("x|||q1|||0123456789").error().message,
            "arc name \"x|||q1|||0123456789\": transform \"q1\" is not t0..t7");
  EXPECT_EQ(ParseArcName("x|||t1|||1023456789").error().message,
            "arc name \"x|||t1|||1023456789\": colour mapping must be a permutation of 0-9 with 0 "
            "first");
  EXPECT_EQ(ParseArcName("x|||t1|||0113456789").error().message,
            "arc name \"x|||t1|||0113456789\": colour mapping must be a permutation of 0-9 with 0 "
            "first");
  EXPECT_EQ(ParseArcName("x|||t1|||012345678").error().message,
            "arc name \"x|||t1|||012345678\": colour mapping must be a permutation of 0-9 with 0 "
            "first");
  EXPECT_EQ(ParseArcName("x|||t1").error().message,
            "arc name \"x|||t1\": expected task|||t<k>|||<mapping>");
  ArcAugmentation bad;
  bad.dihedral = 8;
  EXPECT_EQ(ValidateArcAugmentation(bad).error().message,
            "arc augmentation: transform 8 is outside 0..7");
  bad.dihedral = 0;
  bad.colours[0] = 1;
  bad.colours[1] = 0;
  EXPECT_EQ(ValidateArcAugmentation(bad).error().message,
            "arc augmentation: colour mapping must be a permutation of 0-9 with 0 first");
}

TEST(ArcAugmentation, IdentifiersForTask) {
  std::vector<std::string> names = {"<blank>",
                                    "abc",
                                    "abc|||t1|||0213456789",
                                    "abcd|||t2|||0123456789",
                                    "xyz",
                                    "abc|||t9|||0123456789",
                                    "abc|||t7|||0987654321"};
  auto ids = ArcIdentifiersForTask(names, "abc");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0].identifier, 1);
  EXPECT_TRUE(ids[0].augmentation.is_identity());
  EXPECT_EQ(ids[1].identifier, 2);
  EXPECT_EQ(ids[1].augmentation.dihedral, 1);
  EXPECT_EQ(ids[2].identifier, 6);
  EXPECT_EQ(ids[2].augmentation.Name("abc"), "abc|||t7|||0987654321");
  EXPECT_TRUE(ArcIdentifiersForTask(names, "nope").empty());
}

TEST(ArcAugmentation, MapsColoursThenTransforms) {
  ArcGrid g = *ArcGridFromRows({{0, 1, 2}, {3, 4, 5}});
  ArcAugmentation aug;
  aug.dihedral = 6;  // transpose
  aug.colours = {0, 2, 1, 3, 4, 5, 6, 7, 8, 9};
  ArcGrid out = aug.Apply(g);
  EXPECT_EQ(ArcGridToRows(out), (std::vector<std::vector<int>>{{0, 3}, {2, 4}, {1, 5}}));
  EXPECT_EQ(aug.Invert(out), g);
}

TEST(ArcAugmentation, RandomDrawsKeepBlackAndCoverAllTransforms) {
  std::mt19937_64 rng(42);
  std::array<int, 8> seen{};
  for (int i = 0; i < 400; ++i) {
    ArcAugmentation a = RandomArcAugmentation(rng);
    ASSERT_TRUE(ValidateArcAugmentation(a).ok());
    ++seen[a.dihedral];
    auto parsed = ParseArcName(a.Name("t"));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->augmentation, a);
  }
  for (int n : seen) EXPECT_GT(n, 20);
}

// Augmentation then inverse is the identity on every grid of a folder's evaluation tasks, for all
// 8 transforms (each with a random colour permutation).
void ExpectInverseExactOnEvaluationTasks(const std::filesystem::path& dir, size_t num_tasks) {
  auto start = std::chrono::steady_clock::now();
  auto tasks = ReadArcTasks((dir / "arc-agi_evaluation_challenges.json").string(),
                            (dir / "arc-agi_evaluation_solutions.json").string());
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  ASSERT_EQ(tasks->size(), num_tasks);
  std::mt19937_64 rng(1);
  int64_t grids = 0;
  for (const ArcTask& task : *tasks) {
    std::vector<const ArcGrid*> all;
    for (const auto* examples : {&task.train, &task.test}) {
      for (const auto& e : *examples) {
        all.push_back(&e.input);
        ASSERT_TRUE(e.output.has_value()) << task.id;
        all.push_back(&*e.output);
      }
    }
    for (int k = 0; k < 8; ++k) {
      ArcAugmentation aug = RandomArcAugmentation(rng);
      aug.dihedral = k;
      auto parsed = ParseArcName(aug.Name(task.id));
      ASSERT_TRUE(parsed.ok());
      ASSERT_EQ(parsed->task_id, task.id);
      for (const ArcGrid* g : all) {
        ArcGrid a = parsed->augmentation.Apply(*g);
        ASSERT_TRUE(ValidateArcGrid(a).ok());
        ASSERT_EQ(aug.Invert(a), *g) << task.id << " t" << k;
        // Through the model's token layout too.
        ASSERT_EQ(aug.Invert(*ArcGridFromTokens(ArcGridToTokens(a))), *g);
        ++grids;
      }
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%lld augmented grids inverted in %.2f s\n", static_cast<long long>(grids), s);
}

// All 400 ARC-AGI-1 evaluation tasks.
TEST(ArcAugmentation, InverseIsExactOnAllEvaluationTasks) {
  const auto dir = test_data::SharedDir() / "data" / "arc";
  TRM_SKIP_WITHOUT_SHARED(dir / "arc-agi_evaluation_challenges.json");
  ExpectInverseExactOnEvaluationTasks(dir, 400);
}

// tests/data/arc's generated tasks, a full 30x30 grid among them.
TEST(ArcAugmentation, InverseIsExactOnGeneratedTasks) {
  ExpectInverseExactOnEvaluationTasks(test_data::TestDataDir() / "arc", 5);
}

}  // namespace
}  // namespace trm::puzzle
