#include "client/render.h"

#include <gtest/gtest.h>

namespace trm::client {
namespace {

TEST(RenderTest, SudokuGridHighlightsChangedCells) {
  trm::v1::SolveStep step;
  step.set_step(2);
  step.set_confidence(0.25f);
  std::string digits(81, '0');
  digits[0] = '5';
  digits[10] = '7';
  step.mutable_answer()->set_sudoku(digits);
  step.add_changed_cells(10);
  auto plain = RenderStep(step, 0, {.color = false});
  ASSERT_EQ(plain.size(), 1u + 9u + 2u);  // Header, 9 rows, 2 box separators.
  EXPECT_NE(plain[0].find("step 2"), std::string::npos);
  EXPECT_NE(plain[0].find("confidence 0.250"), std::string::npos);
  EXPECT_EQ(plain[1], "5 . . | . . . | . . .");
  EXPECT_EQ(plain[2], ". 7 . | . . . | . . .");
  auto colour = RenderStep(step, 0, {.color = true});
  EXPECT_NE(colour[2].find("\x1b[7m7\x1b[0m"), std::string::npos) << colour[2];
  EXPECT_EQ(colour[1].find("\x1b[7m"), std::string::npos);  // Unchanged row: no highlight.
}

TEST(RenderTest, MazeChangedCellsUseTheModelFrame) {
  trm::v1::Answer answer;
  answer.mutable_maze()->add_rows("#S#");
  answer.mutable_maze()->add_rows("#oG");
  // Side 30: cell (1, 1) is index 31.
  auto lines = RenderAnswer(answer, {31}, 30, {.color = true});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("\x1b[7mo"), std::string::npos) << lines[1];
  EXPECT_EQ(RenderAnswer(answer, {31}, 30, {.color = false})[1], "#oG");
}

TEST(RenderTest, SummaryNamesHaltReasonAndVerification) {
  trm::v1::SolveResponse r;
  r.mutable_answer()->mutable_tokens()->add_tokens(3);
  r.set_steps(4);
  r.set_halt_reason(trm::v1::HALT_REASON_Q_HEAD);
  r.set_verification(trm::v1::VERIFICATION_NOT_CHECKABLE);
  const std::string s = SummarizeResponse(r, 0, {.color = false});
  EXPECT_NE(s.find("steps 4"), std::string::npos);
  EXPECT_NE(s.find("HALT_REASON_Q_HEAD"), std::string::npos);
  EXPECT_NE(s.find("VERIFICATION_NOT_CHECKABLE"), std::string::npos);
  EXPECT_EQ(s.find("views"), std::string::npos);  // One view: nothing to say.
  r.set_views(6);
  r.set_views_agreeing(5);
  EXPECT_NE(SummarizeResponse(r, 0, {.color = false}).find("views 5/6 agree"), std::string::npos);
}

}  // namespace
}  // namespace trm::client
