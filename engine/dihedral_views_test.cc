#include "engine/dihedral_views.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "puzzle/dihedral.h"

namespace trm::engine {
namespace {

ModelInfo Model(TaskKind task, int seq_len, int maze_side = 0) {
  ModelInfo m;
  m.name = "m";
  m.task = task;
  m.seq_len = seq_len;
  m.maze_side = maze_side;
  return m;
}

TEST(DihedralViews, GridSideIsTheModelsSquare) {
  EXPECT_EQ(*DihedralGridSide(Model(TaskKind::kSudoku, 81)), 9);
  EXPECT_EQ(*DihedralGridSide(Model(TaskKind::kMaze, 81, 9)), 9);
  EXPECT_EQ(*DihedralGridSide(Model(TaskKind::kMaze, 900, 30)), 30);
  for (const ModelInfo& m : {Model(TaskKind::kTokens, 16), Model(TaskKind::kArc, 900),
                             Model(TaskKind::kMaze, 81, 0), Model(TaskKind::kMaze, 100, 9)}) {
    auto side = DihedralGridSide(m);
    ASSERT_FALSE(side.ok()) << TaskKindName(m.task);
    EXPECT_NE(side.status().message().find("model m is a"), std::string::npos) << side.status();
  }
}

TEST(DihedralViews, EveryViewIsAPermutationTheInverseUndoes) {
  std::vector<int32_t> grid(81);
  std::iota(grid.begin(), grid.end(), 0);
  for (int k = 0; k < kMaxDihedralViews; ++k) {
    std::vector<int32_t> view = ViewTokens(grid, 9, k);
    EXPECT_EQ(k == 0, view == grid) << k;
    EXPECT_EQ(ViewTokens(view, 9, puzzle::DihedralInverse(k)), grid) << k;
  }
}

Result Answer(const std::vector<int32_t>& tokens, float confidence, int steps) {
  Result r;
  r.answer_tokens = tokens;
  r.confidence = confidence;
  r.steps = steps;
  return r;
}

// Views 0..7 of a 3x3 `truth`, each answered in its own orientation and turned back; the views
// in `wrong` get a wrong answer of their own (no two alike).
std::vector<ViewAnswer> ViewAnswers(const std::vector<int32_t>& truth,
                                    const std::vector<float>& conf, const std::vector<int>& wrong) {
  std::vector<ViewAnswer> views;
  for (int k = 0; k < 8; ++k) {
    std::vector<int32_t> answer = truth;
    if (std::find(wrong.begin(), wrong.end(), k) != wrong.end()) answer[4] = 100 + k;
    views.push_back(TurnBack(k, Answer(ViewTokens(answer, 3, k), conf[k], k + 1), 3));
  }
  return views;
}

TEST(DihedralViews, AloneTheMostConfidentViewAnswersTurnedBack) {
  std::vector<int32_t> truth(9);
  std::iota(truth.begin(), truth.end(), 1);
  // View 5 is right and the most confident; the others are all wrong, each differently.
  std::vector<ViewAnswer> views =
      ViewAnswers(truth, {.4f, .4f, .4f, .4f, .4f, .9f, .4f, .4f}, {0, 1, 2, 3, 4, 6, 7});
  Result r = CombineViews(views);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.answer_tokens, truth);
  EXPECT_FLOAT_EQ(r.confidence, 0.9f);
  EXPECT_EQ(r.steps, 6);
  EXPECT_EQ(r.views, 8);
  EXPECT_EQ(r.views_agreeing, 1);
}

TEST(DihedralViews, AgreeingViewsOutvoteTheMostConfidentOne) {
  std::vector<int32_t> truth(9);
  std::iota(truth.begin(), truth.end(), 1);
  // Views 2, 3 and 6 agree (0.4 + 0.6 + 0.5 = 1.5) against view 0's confident 0.95.
  std::vector<ViewAnswer> views =
      ViewAnswers(truth, {.95f, .3f, .4f, .6f, .2f, .3f, .5f, .1f}, {0, 1, 4, 5, 7});
  Result r = CombineViews(views);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.answer_tokens, truth);
  // Reported as the winning answer's most confident view (view 3: 0.6, 4 steps).
  EXPECT_FLOAT_EQ(r.confidence, 0.6f);
  EXPECT_EQ(r.steps, 4);
  EXPECT_EQ(r.views_agreeing, 3);
  // With view 0 surer than the three together, it wins.
  views[0].result.confidence = 1.6f;
  EXPECT_NE(CombineViews(views).answer_tokens, truth);
}

TEST(DihedralViews, TiesGoToTheLowerViewAndNoAnswerIsAnError) {
  std::vector<int32_t> a = {1, 2, 3, 4}, b = {4, 3, 2, 1};
  std::vector<ViewAnswer> views = {TurnBack(0, Answer(a, 0.7f, 1), 2),
                                   TurnBack(1, Answer(ViewTokens(b, 2, 1), 0.7f, 1), 2)};
  EXPECT_EQ(CombineViews(views).answer_tokens, a);
  EXPECT_EQ(CombineViews({}).status.code(), absl::StatusCode::kInternal);
}

// The vote is decided once the views still running could not overturn it even if each voted
// with confidence 1 for the runner-up: 5 agreeing views at 0.9 (4.5) against nothing lead by
// more than the 3 still running; 4 agreeing at 0.9 (3.6) against one at 0.8 lead by 2.8, which
// 3 running views could overturn.
TEST(DihedralViews, TheVoteIsDecidedWhenTheRunningViewsCannotOverturnIt) {
  std::vector<int32_t> truth(9);
  std::iota(truth.begin(), truth.end(), 1);
  std::vector<ViewAnswer> all = ViewAnswers(truth, {.9f, .9f, .9f, .9f, .9f, .8f, .9f, .9f}, {5});
  std::vector<ViewAnswer> five(all.begin(), all.begin() + 5);
  ViewVote vote = TallyViews(five);
  EXPECT_EQ(vote.agreeing, 5);
  EXPECT_NEAR(vote.lead, 4.5, 1e-6);
  EXPECT_TRUE(VoteDecided(vote, 3));
  EXPECT_FALSE(VoteDecided(vote, 5));

  std::vector<ViewAnswer> split = {all[0], all[1], all[2], all[3], all[5]};
  vote = TallyViews(split);
  EXPECT_EQ(vote.agreeing, 4);
  EXPECT_NEAR(vote.lead, 3.6 - 0.8, 1e-6);
  EXPECT_FALSE(VoteDecided(vote, 3));
  EXPECT_TRUE(VoteDecided(vote, 2));
  EXPECT_TRUE(VoteDecided(vote, 0));
  EXPECT_FALSE(VoteDecided(TallyViews({}), 0));
}

}  // namespace
}  // namespace trm::engine
