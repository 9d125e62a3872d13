#include "engine/completion_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace trm::engine {
namespace {

// Every key's tasks run in the order they were posted, whichever thread posted them and however
// the keys share threads.
TEST(CompletionExecutor, EachKeysTasksRunInPostingOrder) {
  std::mutex mu;
  std::map<uint64_t, std::vector<int>> seen;
  {
    CompletionExecutor executor(3);
    std::vector<std::thread> posters;
    for (uint64_t key = 0; key < 8; ++key) {
      posters.emplace_back([&, key] {
        for (int i = 0; i < 500; ++i) {
          if (i % 7 == 0) {
            std::vector<std::pair<uint64_t, CompletionExecutor::Task>> batch;
            batch.emplace_back(key, [&, key, i] {
              std::lock_guard lock(mu);
              seen[key].push_back(i);
            });
            executor.PostAll(batch);
            EXPECT_TRUE(batch.empty());
          } else {
            executor.Post(key, [&, key, i] {
              std::lock_guard lock(mu);
              seen[key].push_back(i);
            });
          }
        }
      });
    }
    for (auto& t : posters) t.join();
  }  // The destructor runs everything posted.
  ASSERT_EQ(seen.size(), 8u);
  for (const auto& [key, order] : seen) {
    ASSERT_EQ(order.size(), 500u) << key;
    for (int i = 0; i < 500; ++i) ASSERT_EQ(order[i], i) << key;
  }
}

TEST(CompletionExecutor, WaitIdleReturnsAfterEverythingPostedRan) {
  CompletionExecutor executor(2);
  std::atomic<int> ran{0};
  for (int i = 0; i < 200; ++i) {
    executor.Post(i, [&] { ran.fetch_add(1); });
  }
  executor.WaitIdle();
  EXPECT_EQ(ran.load(), 200);
}

// A task blocked on one thread does not hold up keys on the other: the first task waits for the
// second, which would never run if the two shared a thread.
TEST(CompletionExecutor, KeysOnDifferentThreadsRunInParallel) {
  CompletionExecutor executor(2);
  std::mutex mu;
  std::condition_variable cv;
  bool second_ran = false;
  bool first_saw_it = false;
  executor.Post(0, [&] {
    std::unique_lock lock(mu);
    // Bounds only a hang: the second task runs at once on the other thread.
    first_saw_it = cv.wait_for(lock, std::chrono::seconds(60), [&] { return second_ran; });
  });
  executor.Post(1, [&] {
    std::lock_guard lock(mu);
    second_ran = true;
    cv.notify_all();
  });
  executor.WaitIdle();
  EXPECT_TRUE(first_saw_it);
}

// A task may post more work (to its own key or another) without deadlocking.
TEST(CompletionExecutor, TasksMayPostMoreTasks) {
  CompletionExecutor executor(2);
  std::atomic<int> ran{0};
  executor.Post(0, [&] {
    ran.fetch_add(1);
    executor.Post(0, [&] { ran.fetch_add(1); });
    executor.Post(1, [&] { ran.fetch_add(1); });
  });
  // WaitIdle covers what was posted before it; the nested posts happen before the first task
  // finishes, so its shard and the other one see them.
  executor.WaitIdle();
  executor.WaitIdle();
  EXPECT_EQ(ran.load(), 3);
}

}  // namespace
}  // namespace trm::engine
