#include "puzzle/expected.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace trm::puzzle {
namespace {

Expected<int> Half(int x) {
  if (x % 2) return Error{"half: " + std::to_string(x) + " is odd"};
  return x / 2;
}

Expected<void> CheckPositive(int x) {
  if (x <= 0) return Error{"check: " + std::to_string(x) + " is not positive"};
  return Ok();
}

TEST(Expected, ValueOrError) {
  auto a = Half(8);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(static_cast<bool>(a));
  EXPECT_EQ(*a, 4);
  EXPECT_EQ(a.value(), 4);
  auto b = Half(3);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "half: 3 is odd");
  EXPECT_THROW((void)b.value(), std::bad_variant_access);
}

TEST(Expected, MoveOnlyValuesAndArrow) {
  Expected<std::unique_ptr<std::string>> p = std::make_unique<std::string>("abc");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->size(), 3u);
  std::unique_ptr<std::string> taken = std::move(p).value();
  EXPECT_EQ(*taken, "abc");
  Expected<std::string> s = std::string("xyz");
  EXPECT_EQ(s->front(), 'x');
}

TEST(Expected, Void) {
  EXPECT_TRUE(CheckPositive(1).ok());
  EXPECT_TRUE(CheckPositive(1).error().message.empty());
  auto r = CheckPositive(-2);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().message, "check: -2 is not positive");
}

}  // namespace
}  // namespace trm::puzzle
