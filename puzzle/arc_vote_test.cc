#include "puzzle/arc_vote.h"

#include <gtest/gtest.h>

namespace trm::puzzle {
namespace {

ArcGrid Grid(std::vector<std::vector<int>> rows) { return *ArcGridFromRows(rows); }

ArcAugmentation Aug(int k, std::array<uint8_t, 10> colours = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
  ArcAugmentation a;
  a.dihedral = k;
  a.colours = colours;
  return a;
}

TEST(ArcVote, InvertsGroupsAndRanksByVotesThenConfidence) {
  ArcGrid truth = Grid({{1, 2}, {3, 4}});
  ArcGrid other = Grid({{1, 1}, {1, 1}});
  ArcAugmentation a1 = Aug(1, {0, 2, 1, 3, 4, 5, 6, 7, 8, 9});
  ArcAugmentation a2 = Aug(6);
  std::vector<ArcPrediction> preds = {
      {a1, a1.Apply(truth), 0.2f}, {a2, a2.Apply(other), 0.9f},         {Aug(0), truth, 0.4f},
      {a2, a2.Apply(truth), 0.3f}, {Aug(5), Aug(5).Apply(other), 0.7f},
  };
  auto ranked = VoteArcPredictions(preds);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].grid, truth);
  EXPECT_EQ(ranked[0].votes, 3);
  EXPECT_NEAR(ranked[0].mean_confidence, 0.3f, 1e-6);
  EXPECT_EQ(ranked[1].grid, other);
  EXPECT_EQ(ranked[1].votes, 2);
  EXPECT_NEAR(ranked[1].mean_confidence, 0.8f, 1e-6);
  EXPECT_TRUE(ArcPassAtK(ranked, truth, 1));
  EXPECT_FALSE(ArcPassAtK(ranked, Grid({{5}}), 2));
  EXPECT_EQ(VoteArcPredictions(preds, 1).size(), 1u);
}

TEST(ArcVote, EqualVotesBrokenByMeanConfidenceThenFirstSeen) {
  ArcGrid a = Grid({{1}}), b = Grid({{2}}), c = Grid({{3}});
  std::vector<ArcPrediction> preds = {{Aug(0), a, 0.5f}, {Aug(0), b, 0.5f}, {Aug(0), c, 0.9f}};
  auto ranked = VoteArcPredictions(preds);
  ASSERT_EQ(ranked.size(), 3u);
  EXPECT_EQ(ranked[0].grid, c);
  EXPECT_EQ(ranked[1].grid, a);  // a and b tie: a was seen first.
  EXPECT_EQ(ranked[2].grid, b);
  EXPECT_FALSE(ArcPassAtK(ranked, b, 2));
  EXPECT_TRUE(ArcPassAtK(ranked, b, 3));
}

TEST(ArcVote, FromTokensAndEmptyCrops) {
  ArcGrid truth = Grid({{4, 5, 6}});
  ArcAugmentation aug = Aug(2, {0, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  auto p = ArcPredictionFromTokens(aug, ArcGridToTokens(aug.Apply(truth)), 0.6f);
  ASSERT_TRUE(p.ok());
  std::vector<int32_t> pad(900, 0);
  auto empty = ArcPredictionFromTokens(aug, pad, 0.99f);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->grid.rows, 0);
  std::vector<ArcPrediction> preds = {*empty, *p, *p};
  auto ranked = VoteArcPredictions(preds, 2);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].grid, truth);
  EXPECT_EQ(ranked[1].grid.rows, 0);  // The empty crop is a (wrong) candidate, as officially.
  EXPECT_EQ(ArcPredictionFromTokens(aug, std::span(pad).first(10), 0).error().message,
            "arc tokens: expected 900 tokens, got 10");
}

TEST(ArcVote, TaskScoreIsTheFractionOfTestInputsPassed) {
  ArcGrid x = Grid({{1}}), y = Grid({{2}});
  std::vector<std::vector<ArcCandidate>> ranked = {{{x, 2, 0.5f}, {y, 1, 0.5f}}, {{x, 1, 0.5f}}};
  std::vector<ArcGrid> truths = {y, y};
  EXPECT_DOUBLE_EQ(ArcTaskScore(ranked, truths, 1), 0.0);
  EXPECT_DOUBLE_EQ(ArcTaskScore(ranked, truths, 2), 0.5);
  std::vector<ArcGrid> none;
  EXPECT_DOUBLE_EQ(ArcTaskScore(ranked, none, 2), 0.0);
}

}  // namespace
}  // namespace trm::puzzle
