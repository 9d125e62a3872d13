#include "engine/dihedral_views.h"

#include <gtest/gtest.h>

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
  r.timing.total_ms = steps;
  return r;
}

TEST(DihedralViews, TheMostConfidentViewAnswersTurnedBack) {
  std::vector<int32_t> truth(9);
  std::iota(truth.begin(), truth.end(), 1);
  std::vector<Result> views;
  for (int k = 0; k < 8; ++k) {
    // Each view answers in its own orientation; view 5 is right and the most confident.
    std::vector<int32_t> answer = ViewTokens(truth, 3, k);
    if (k != 5) answer[0] = 99;
    views.push_back(Answer(answer, k == 5 ? 0.9f : 0.4f, k + 1));
  }
  Result r = CombineViews(views, 3);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.answer_tokens, truth);
  EXPECT_FLOAT_EQ(r.confidence, 0.9f);
  EXPECT_EQ(r.steps, 6);
  EXPECT_EQ(r.timing.total_ms, 8);  // The slowest view.
}

TEST(DihedralViews, TiesGoToTheLowerViewAndFailuresFailTheRequest) {
  std::vector<int32_t> grid = {1, 2, 3, 4};
  std::vector<Result> views = {Answer(grid, 0.7f, 1), Answer(ViewTokens(grid, 2, 1), 0.7f, 1)};
  EXPECT_EQ(CombineViews(views, 2).answer_tokens, grid);
  views[1].status = absl::DeadlineExceededError("deadline");
  EXPECT_EQ(CombineViews(views, 2).status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CombineViews({}, 2).status.code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace trm::engine
