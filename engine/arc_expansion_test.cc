#include "engine/arc_expansion.h"

#include <gtest/gtest.h>

#include "puzzle/arc_vote.h"

namespace trm::engine {
namespace {

puzzle::ArcGrid Grid() {
  auto g = puzzle::ArcGridFromRows({{1, 2, 0}, {3, 4, 5}});
  EXPECT_TRUE(g);
  return *g;
}

const std::vector<std::string> kIds = {"<blank>", "other|||t2|||0123456789",
                                       "abc|||t1|||0123456789", "abc", "abc|||t7|||0987654321"};

TEST(ExpandArcRequest, OneRowPerKnownAugmentationIdentityFirst) {
  auto rows = ExpandArcRequest(kIds, "abc", Grid(), 0);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].puzzle_identifier, 3);
  EXPECT_TRUE((*rows)[0].augmentation.is_identity());
  EXPECT_EQ((*rows)[0].tokens, puzzle::ArcGridToTokens(Grid()));
  EXPECT_EQ((*rows)[1].puzzle_identifier, 2);
  EXPECT_EQ((*rows)[2].puzzle_identifier, 4);
  for (const ArcRow& r : *rows) {
    EXPECT_EQ(r.tokens.size(), 900u);
    EXPECT_EQ(r.tokens, puzzle::ArcGridToTokens(r.augmentation.Apply(Grid())));
  }
  auto capped = ExpandArcRequest(kIds, "abc", Grid(), 2);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->size(), 2u);
}

TEST(ExpandArcRequest, UnknownTaskAndBadGrid) {
  auto rows = ExpandArcRequest(kIds, "nope", Grid(), 0);
  EXPECT_TRUE(absl::IsNotFound(rows.status()));
  EXPECT_NE(rows.status().message().find("nope"), std::string::npos);
  puzzle::ArcGrid bad = Grid();
  bad.cells[0] = 11;
  EXPECT_TRUE(absl::IsInvalidArgument(ExpandArcRequest(kIds, "abc", bad, 0).status()));
}

TEST(VoteArcRows, AugmentedAnswersAreInvertedAndVoted) {
  auto rows = ExpandArcRequest(kIds, "abc", Grid(), 0);
  ASSERT_TRUE(rows.ok());
  // Every row "answers" the truth in its own frame, except one that answers something else.
  puzzle::ArcGrid truth = *puzzle::ArcGridFromRows({{5, 5}, {6, 7}});
  std::vector<ArcRowResult> results;
  for (size_t i = 0; i < rows->size(); ++i) {
    ArcRowResult r;
    r.augmentation = (*rows)[i].augmentation;
    puzzle::ArcGrid answer = i == 2 ? *puzzle::ArcGridFromRows({{1}}) : truth;
    r.result.answer_tokens = puzzle::ArcGridToTokens(r.augmentation.Apply(answer));
    r.result.confidence = 0.5f + 0.1f * i;
    r.result.steps = 3 + static_cast<int>(i);
    results.push_back(r);
  }
  Result voted = VoteArcRows(results, 2);
  ASSERT_TRUE(voted.status.ok());
  ASSERT_EQ(voted.arc_attempts.size(), 2u);
  EXPECT_EQ(voted.arc_attempts[0].votes, 2);
  EXPECT_EQ(voted.arc_attempts[0].rows, 2);
  EXPECT_EQ(voted.arc_attempts[0].cells, (std::vector<int32_t>{5, 5, 6, 7}));
  EXPECT_EQ(voted.arc_attempts[1].votes, 1);
  EXPECT_EQ(voted.steps, 5);
  EXPECT_NEAR(voted.confidence, 0.55f, 1e-6);
  EXPECT_EQ(voted.answer_tokens, puzzle::ArcGridToTokens(truth));

  results[1].result.status = absl::CancelledError("gone");
  EXPECT_TRUE(absl::IsCancelled(VoteArcRows(results, 2).status));
}

}  // namespace
}  // namespace trm::engine
