#include "train/losses.h"

#include <gtest/gtest.h>

#include <cmath>

namespace trm::train {
namespace {

TEST(Stablemax, MatchesHandComputedValues) {
  // s(2) = 3, s(-1) = 1/2, s(0) = 1; sum 4.5.
  auto logits = torch::tensor({2.0, -1.0, 0.0}).view({1, 1, 3});
  auto loss0 = StablemaxCrossEntropy(logits, torch::tensor({0}, torch::kLong).view({1, 1}));
  auto loss1 = StablemaxCrossEntropy(logits, torch::tensor({1}, torch::kLong).view({1, 1}));
  EXPECT_NEAR(loss0.item<double>(), -std::log(3.0 / 4.5), 1e-12);
  EXPECT_NEAR(loss1.item<double>(), -std::log(0.5 / 4.5), 1e-12);
  EXPECT_EQ(loss0.scalar_type(), torch::kFloat64);  // Official: computed in float64.
}

TEST(Stablemax, IgnoredLabelsCostNothing) {
  auto logits = torch::tensor({2.0, -1.0, 0.0, 1.0, 1.0, 1.0}).view({1, 2, 3});
  auto labels = torch::tensor({kIgnoreLabel, int64_t{2}}, torch::kLong).view({1, 2});
  auto loss = StablemaxCrossEntropy(logits, labels);
  EXPECT_EQ(loss[0][0].item<double>(), 0.0);
  EXPECT_NEAR(loss[0][1].item<double>(), std::log(3.0), 1e-12);
}

TEST(Softmax, MatchesHandComputedValues) {
  auto logits = torch::tensor({1.0f, 2.0f, 3.0f}).view({1, 1, 3});
  auto loss = SoftmaxCrossEntropy(logits, torch::tensor({2}, torch::kLong).view({1, 1}));
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(loss.item<double>(), lse - 3.0, 1e-6);
}

TEST(ActLoss, NormalisesPerExampleAndAddsHalfTheHaltLoss) {
  // Row 0: 2 scored cells, both right. Row 1: 1 scored cell (one ignored), wrong.
  auto logits = torch::zeros({2, 2, 3});
  logits[0][0][1] = 4;
  logits[0][1][2] = 4;
  logits[1][0][0] = 4;
  auto labels =
      torch::tensor({int64_t{1}, int64_t{2}, int64_t{2}, kIgnoreLabel}, torch::kLong).view({2, 2});
  LossInputs in;
  in.logits = logits;
  in.labels = labels;
  in.q_halt = torch::tensor({0.5f, -1.0f});
  in.q_continue = torch::zeros({2});
  in.halted = torch::tensor({true, true});
  in.steps = torch::tensor({3, 5});
  auto out = ActLoss(in, LossType::kStablemax);
  // s(4) = 5, s(0) = 1: right cell -log(5/7), wrong cell -log(1/7).
  const double right = -std::log(5.0 / 7.0), wrong = -std::log(1.0 / 7.0);
  const double lm = (right + right) / 2 + wrong / 1;
  auto bce = [](double x, double y) { return std::log1p(std::exp(x)) - x * y; };
  const double q = bce(0.5, 1.0) + bce(-1.0, 0.0);
  EXPECT_NEAR(out.lm_loss, lm, 1e-5);
  EXPECT_NEAR(out.q_halt_loss, q, 1e-5);
  EXPECT_NEAR(out.total.item<double>(), lm + 0.5 * q, 1e-5);
  EXPECT_EQ(out.count, 2);
  EXPECT_EQ(out.exact_accuracy, 1);   // Row 0.
  EXPECT_EQ(out.q_halt_accuracy, 2);  // Row 0: q>=0 and right; row 1: q<0 and wrong.
  EXPECT_NEAR(out.accuracy, 1.0 + 0.0, 1e-12);
  EXPECT_EQ(out.steps, 8);
}

TEST(ActLoss, MetricsCountOnlyHaltedRowsAndBootstrapAddsQContinue) {
  auto logits = torch::zeros({2, 1, 3});
  auto labels = torch::tensor({0, 0}, torch::kLong).view({2, 1});
  LossInputs in;
  in.logits = logits;
  in.labels = labels;
  in.q_halt = torch::zeros({2});
  in.q_continue = torch::tensor({0.0f, 2.0f});
  in.target_q_continue = torch::tensor({1.0f, 0.0f});
  in.halted = torch::tensor({false, true});
  in.steps = torch::tensor({1, 2});
  auto out = ActLoss(in, LossType::kSoftmax);
  EXPECT_EQ(out.count, 1);
  EXPECT_EQ(out.steps, 2);
  const double qc = std::log(2.0) + std::log1p(std::exp(2.0));
  EXPECT_NEAR(out.q_continue_loss, qc, 1e-5);
  EXPECT_NEAR(out.total.item<double>(), out.lm_loss + 0.5 * (out.q_halt_loss + qc), 1e-5);
}

TEST(LossType, ParsesAndRejects) {
  EXPECT_EQ(*ParseLossType("softmax"), LossType::kSoftmax);
  EXPECT_EQ(*ParseLossType("stablemax_cross_entropy"), LossType::kStablemax);
  auto bad = ParseLossType("hinge");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("hinge"), std::string::npos);
}

}  // namespace
}  // namespace trm::train
