#include "train/optim.h"

#include <gtest/gtest.h>

#include <cmath>

namespace trm::train {
namespace {

torch::Tensor Param(double v) {
  auto p = torch::tensor({v}, torch::kFloat64);
  p.set_requires_grad(true);
  return p;
}
void SetGrad(torch::Tensor& p, double g) { p.mutable_grad() = torch::tensor({g}, torch::kFloat64); }

TEST(AdamAtan2, TwoStepsMatchHandComputedValues) {
  auto p = Param(1.0);
  AdamOptions o;
  o.beta1 = 0.9;
  o.beta2 = 0.95;
  o.weight_decay = 0.1;
  Adam adam({{"w", p}}, o);
  const double lr = 0.1;
  // Step 1: decay, m = 0.1 g, v = 0.05 g^2, bias corrections 0.1 and 0.05.
  SetGrad(p, 0.5);
  adam.Step(lr);
  double w = 1.0 * (1 - lr * 0.1);
  double m = 0.1 * 0.5, v = 0.05 * 0.25;
  w -= lr / 0.1 * std::atan2(m, std::sqrt(v) / std::sqrt(0.05));
  EXPECT_NEAR(p.item<double>(), w, 1e-12);
  // Step 2 with a negative gradient.
  SetGrad(p, -2.0);
  adam.Step(lr);
  w *= 1 - lr * 0.1;
  m = 0.9 * m + 0.1 * -2.0;
  v = 0.95 * v + 0.05 * 4.0;
  const double bc1 = 1 - 0.9 * 0.9, bc2 = 1 - 0.95 * 0.95;
  w -= lr / bc1 * std::atan2(m, std::sqrt(v) / std::sqrt(bc2));
  EXPECT_NEAR(p.item<double>(), w, 1e-12);
  EXPECT_EQ(adam.step_count(), 2);
}

TEST(AdamW, OneStepMatchesHandComputedValue) {
  auto p = Param(1.0);
  AdamOptions o;
  o.kind = OptimizerKind::kAdamW;
  o.weight_decay = 0.1;
  o.eps = 1e-8;
  Adam adam({{"w", p}}, o);
  SetGrad(p, 0.5);
  adam.Step(0.1);
  const double m = 0.05, v = 0.05 * 0.25;
  const double expected = 0.99 - 0.1 / 0.1 * m / (std::sqrt(v) / std::sqrt(0.05) + 1e-8);
  EXPECT_NEAR(p.item<double>(), expected, 1e-12);
}

TEST(Adam, SkipsParametersWithoutGradientAndRoundTripsState) {
  auto a = Param(1.0), b = Param(2.0);
  Adam adam({{"a", a}, {"b", b}}, {});
  SetGrad(a, 1.0);
  adam.Step(0.01);
  EXPECT_EQ(b.item<double>(), 2.0);
  auto state = adam.State();
  ASSERT_TRUE(state.count("exp_avg.a"));
  auto a2 = Param(a.item<double>()), b2 = Param(2.0);
  Adam other({{"a", a2}, {"b", b2}}, {});
  ASSERT_TRUE(other.LoadState(state).ok());
  SetGrad(a, 0.3);
  SetGrad(a2, 0.3);
  adam.Step(0.01);
  other.Step(0.01);
  EXPECT_EQ(a.item<double>(), a2.item<double>());
  state.erase("exp_avg_sq.b");
  auto st = other.LoadState(state);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("exp_avg_sq.b"), std::string::npos);
}

TEST(SignSgd, UpdatesOnlyTheBatchRows) {
  auto w = torch::arange(8, torch::kFloat64).view({4, 2});
  auto grad = torch::zeros({4, 2}, torch::kFloat64);
  grad[0][0] = 1;
  grad[0][1] = 1;  // Row 0 is not in the batch: must not move.
  grad[1][0] = 0.5;
  grad[1][1] = -2;  // Row 1 appears twice in ids.
  grad[3][1] = 3;   // Row 3: one zero component (sign 0: decay only).
  auto before = w.clone();
  SignSgdRows(w, grad, torch::tensor({1, 1, 3}), /*lr=*/0.1, /*weight_decay=*/0.5);
  const double decay = 1 - 0.1 * 0.5;
  EXPECT_TRUE(torch::equal(w[0], before[0]));
  EXPECT_TRUE(torch::equal(w[2], before[2]));
  EXPECT_DOUBLE_EQ(w[1][0].item<double>(), 2 * decay - 0.1);
  EXPECT_DOUBLE_EQ(w[1][1].item<double>(), 3 * decay + 0.1);
  EXPECT_DOUBLE_EQ(w[3][0].item<double>(), 6 * decay);
  EXPECT_DOUBLE_EQ(w[3][1].item<double>(), 7 * decay - 0.1);
}

TEST(CosineLr, WarmsUpThenDecaysToTheFloor) {
  EXPECT_DOUBLE_EQ(CosineLr(0, 1.0, 10, 110, 0.1), 0.0);
  EXPECT_DOUBLE_EQ(CosineLr(5, 1.0, 10, 110, 0.1), 0.5);
  EXPECT_DOUBLE_EQ(CosineLr(10, 1.0, 10, 110, 0.1), 1.0);
  EXPECT_NEAR(CosineLr(60, 1.0, 10, 110, 0.1), 0.1 + 0.9 * 0.5, 1e-12);
  EXPECT_NEAR(CosineLr(110, 1.0, 10, 110, 0.1), 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(CosineLr(60, 2.0, 10, 110, 1.0), 2.0);  // min_ratio 1: constant.
}

TEST(Ema, MovesTowardsTheValues) {
  std::vector<torch::Tensor> ema = {torch::tensor({1.0}, torch::kFloat64)};
  EmaUpdate(ema, {torch::tensor({3.0}, torch::kFloat64)}, 0.75);
  EXPECT_DOUBLE_EQ(ema[0].item<double>(), 0.75 * 1 + 0.25 * 3);
}

}  // namespace
}  // namespace trm::train
