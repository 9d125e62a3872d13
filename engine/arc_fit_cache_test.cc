#include "engine/arc_fit_cache.h"

#include <gtest/gtest.h>

#include <optional>

namespace trm::engine {
namespace {

puzzle::ArcExample Pair(uint8_t in, uint8_t out) {
  puzzle::ArcExample e;
  e.input = {1, 2, {in, in}};
  e.output = puzzle::ArcGrid{1, 1, {out}};
  return e;
}

// A waiter that records what it was called with.
struct Seen {
  int calls = 0;
  absl::StatusOr<ArcFitted> got = absl::UnknownError("not called");
};
ArcFitCache::Waiter Record(Seen& seen) {
  return [&seen](absl::StatusOr<ArcFitted> fitted) {
    ++seen.calls;
    seen.got = std::move(fitted);
  };
}

ArcFitted Fitted(std::vector<int32_t> rows, double ms) {
  ArcFitted f;
  f.rows = std::move(rows);
  f.variants.resize(f.rows.size());
  f.info.fitted = true;
  f.info.fit_ms = ms;
  return f;
}

TEST(ArcFitKey, IsExactOnShapesAndColours) {
  EXPECT_EQ(ArcFitKey({Pair(1, 2)}), ArcFitKey({Pair(1, 2)}));
  EXPECT_NE(ArcFitKey({Pair(1, 2)}), ArcFitKey({Pair(1, 3)}));
  EXPECT_NE(ArcFitKey({Pair(1, 2)}), ArcFitKey({Pair(1, 2), Pair(1, 2)}));
  puzzle::ArcExample tall = Pair(1, 2);
  tall.input = {2, 1, {1, 1}};  // Same cells, other shape.
  EXPECT_NE(ArcFitKey({Pair(1, 2)}), ArcFitKey({tall}));
}

TEST(ArcFitSeed, IsTheSameInEveryProcess) {
  // FNV-1a's published values: not salted per process, as absl's hash is.
  EXPECT_EQ(ArcFitSeed(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(ArcFitSeed("a"), 0xaf63dc4c8601ec8cull);
}

TEST(ArcFitVariants, IdentityFirstDistinctAndStablePerKey) {
  const auto a = ArcFitVariants("task one", 4);
  ASSERT_EQ(a.size(), 4u);
  EXPECT_TRUE(a[0].is_identity());
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = i + 1; j < a.size(); ++j) EXPECT_FALSE(a[i] == a[j]);
  }
  EXPECT_EQ(ArcFitVariants("task one", 4), a);
  EXPECT_NE(ArcFitVariants("task two", 4), a);
}

TEST(ArcFitCache, MissFitsThenServesPinnedHits) {
  ArcFitCache cache(/*first_row=*/10, /*tasks=*/2, /*variants=*/3);
  Seen first, second;
  auto waiter = Record(first);
  auto miss = cache.Acquire("a", waiter);
  ASSERT_TRUE(miss.ok());
  ASSERT_TRUE(miss->fit_rows.has_value());
  EXPECT_FALSE(miss->ready.has_value());
  const std::vector<int32_t> rows = *miss->fit_rows;
  EXPECT_EQ(rows.size(), 3u);
  EXPECT_GE(rows.front(), 10);
  EXPECT_LT(rows.back(), 10 + 2 * 3);

  // A second request while the fit runs waits for it instead of fitting again.
  auto behind_waiter = Record(second);
  auto behind = cache.Acquire("a", behind_waiter);
  ASSERT_TRUE(behind.ok());
  EXPECT_FALSE(behind->fit_rows.has_value());
  EXPECT_FALSE(behind->ready.has_value());
  EXPECT_EQ(first.calls + second.calls, 0);

  cache.Complete("a", Fitted(rows, 5));
  ASSERT_EQ(first.calls, 1);
  ASSERT_EQ(second.calls, 1);
  ASSERT_TRUE(first.got.ok());
  EXPECT_EQ(first.got->rows, rows);
  EXPECT_FALSE(first.got->info.cache_hit);

  Seen unused;
  auto hit_waiter = Record(unused);
  auto hit = cache.Acquire("a", hit_waiter);
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->ready.has_value());
  EXPECT_TRUE(hit->ready->info.cache_hit);
  EXPECT_EQ(hit->ready->info.fit_ms, 5);
  EXPECT_EQ(hit->ready->rows, rows);
  EXPECT_EQ(unused.calls, 0);
}

TEST(ArcFitCache, EvictsOnlyUnpinnedLeastRecentlyUsed) {
  ArcFitCache cache(0, /*tasks=*/2, /*variants=*/1);
  Seen s;
  const auto fit = [&](const std::string& key) {
    auto w = Record(s);
    auto l = cache.Acquire(key, w);
    EXPECT_TRUE(l.ok() && l->fit_rows) << key;
    if (l.ok() && l->fit_rows) cache.Complete(key, Fitted(*l->fit_rows, 1));
  };
  fit("a");  // Pinned by its waiter until released.
  fit("b");
  auto w = Record(s);
  auto full = cache.Acquire("c", w);
  EXPECT_TRUE(absl::IsResourceExhausted(full.status())) << full.status();
  EXPECT_NE(full.status().message().find("--arc_fit_cache_tasks"), std::string::npos);

  cache.Release("b");
  cache.Release("a");
  // Use a again, so b is the least recently used.
  auto again = cache.Acquire("a", w);
  ASSERT_TRUE(again.ok() && again->ready);
  cache.Release("a");
  auto c = cache.Acquire("c", w);
  ASSERT_TRUE(c.ok() && c->fit_rows) << c.status();
  cache.Complete("c", Fitted(*c->fit_rows, 1));
  auto a = cache.Acquire("a", w);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->ready.has_value()) << "a was used after b, so b goes";
  EXPECT_EQ(cache.entries(), 2);
  // b was evicted, and a and c are pinned now: b is new again and has no room.
  EXPECT_TRUE(absl::IsResourceExhausted(cache.Acquire("b", w).status()));
}

TEST(ArcFitCache, AFailedFitFreesItsEntryAndTellsEveryWaiter) {
  ArcFitCache cache(0, 1, 1);
  Seen first, second;
  auto w1 = Record(first);
  auto w2 = Record(second);
  auto miss = cache.Acquire("a", w1);
  ASSERT_TRUE(miss.ok() && miss->fit_rows);
  ASSERT_TRUE(cache.Acquire("a", w2).ok());
  cache.Complete("a", absl::UnavailableError("stopping"));
  EXPECT_TRUE(absl::IsUnavailable(first.got.status()));
  EXPECT_TRUE(absl::IsUnavailable(second.got.status()));
  EXPECT_EQ(cache.entries(), 0);
  Seen third;
  auto w3 = Record(third);
  auto retry = cache.Acquire("a", w3);
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->fit_rows.has_value()) << "the slot is free again";
}

}  // namespace
}  // namespace trm::engine
