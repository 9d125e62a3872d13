#include "engine/halt_policy.h"

#include <gtest/gtest.h>

namespace trm::engine {
namespace {

TEST(HaltPolicy, DefaultsComeFromTheModelAndEngine) {
  auto p = HaltPolicy::Create({}, 16, 0.5f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->max_steps(), 16);
  EXPECT_EQ(p->min_steps(), 1);
  EXPECT_EQ(p->threshold(), 0.5f);
  EXPECT_FALSE(p->ignore_halting());
}

TEST(HaltPolicy, QHeadAfterMinSteps) {
  auto p = HaltPolicy::Create({.max_steps = 10, .min_steps = 3}, 16, 0.5f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Decide(1, 0.9f), std::nullopt);
  EXPECT_EQ(p->Decide(2, 0.9f), std::nullopt);
  EXPECT_EQ(p->Decide(3, 0.9f), HaltReason::kQHead);
  EXPECT_EQ(p->Decide(3, 0.5f), HaltReason::kQHead);  // sigmoid >= threshold.
  EXPECT_EQ(p->Decide(3, 0.49f), std::nullopt);
  EXPECT_EQ(p->Decide(10, 0.1f), HaltReason::kMaxSteps);
  EXPECT_EQ(p->Decide(10, 0.9f), HaltReason::kQHead);  // The Q head's word wins when both hold.
}

TEST(HaltPolicy, IgnoreHaltingRunsExactlyMaxSteps) {
  auto p = HaltPolicy::Create({.max_steps = 4, .ignore_halting = true}, 16, 0.5f);
  ASSERT_TRUE(p.ok());
  for (int s = 1; s < 4; ++s) EXPECT_EQ(p->Decide(s, 1.0f), std::nullopt);
  EXPECT_EQ(p->Decide(4, 0.0f), HaltReason::kFixedSteps);
}

TEST(HaltPolicy, ThresholdOverride) {
  auto p = HaltPolicy::Create({.halt_threshold = 0.9f}, 16, 0.5f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Decide(1, 0.8f), std::nullopt);
  EXPECT_EQ(p->Decide(1, 0.95f), HaltReason::kQHead);
}

TEST(HaltPolicy, BadOptionsNameTheField) {
  auto p = HaltPolicy::Create({.max_steps = 4, .min_steps = 9}, 16, 0.5f);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "halt: min_steps 9 exceeds max_steps 4");
  EXPECT_FALSE(HaltPolicy::Create({.max_steps = -1}, 16, 0.5f).ok());
  EXPECT_FALSE(HaltPolicy::Create({.max_steps = 5000}, 16, 0.5f).ok());
  EXPECT_FALSE(HaltPolicy::Create({.min_steps = -2}, 16, 0.5f).ok());
  EXPECT_FALSE(HaltPolicy::Create({.halt_threshold = 1.5f}, 16, 0.5f).ok());
  EXPECT_FALSE(HaltPolicy::Create({.min_steps = 17}, 16, 0.5f).ok());
}

}  // namespace
}  // namespace trm::engine
