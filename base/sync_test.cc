#include "base/sync.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "absl/time/clock.h"

namespace trm {
namespace {

// A handoff through Mutex + CondVar: every item produced is consumed once, in order.
TEST(SyncTest, CondVarHandsItemsOverInOrder) {
  Mutex mu;
  CondVar changed;
  std::vector<int> items;  // Guarded by mu.
  bool done = false;       // Guarded by mu.
  std::vector<int> seen;
  std::thread consumer([&] {
    MutexLock lock(&mu);
    size_t next = 0;
    for (;;) {
      while (next == items.size() && !done) changed.Wait(&mu);
      if (next == items.size()) return;
      seen.push_back(items[next++]);
    }
  });
  for (int i = 0; i < 1000; ++i) {
    MutexLock lock(&mu);
    items.push_back(i);
    changed.Signal();
  }
  {
    MutexLock lock(&mu);
    done = true;
    changed.SignalAll();
  }
  consumer.join();
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[i], i);
}

TEST(SyncTest, WaitUntilAPassedDeadlineReturnsTimedOut) {
  Mutex mu;
  CondVar never;
  MutexLock lock(&mu);
  EXPECT_TRUE(never.WaitUntil(&mu, absl::Now() - absl::Seconds(1)));
}

TEST(SyncTest, ReadersShareWritersExclude) {
  SharedMutex mu;
  int value = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (i % 10 == 0) {
          WriterLock lock(&mu);
          ++value;
        } else {
          ReaderLock lock(&mu);
          EXPECT_GE(value, 0);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(value, 400);
}

}  // namespace
}  // namespace trm
