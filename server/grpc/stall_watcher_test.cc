#include "server/grpc/stall_watcher.h"

#include <gtest/gtest.h>

#include <atomic>

#include "absl/synchronization/notification.h"

namespace trm::server {
namespace {

TEST(StallWatcherTest, CallsACheckUntilItReturnsFalse) {
  std::atomic<int> calls{0};
  absl::Notification third;
  {
    StallWatcher watcher(absl::Milliseconds(1));
    watcher.Watch([&](bool stopping) {
      EXPECT_FALSE(stopping) << "a check that returned false is not called at shutdown";
      if (++calls == 3) {
        third.Notify();
        return false;
      }
      return true;
    });
    ASSERT_TRUE(third.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }
  EXPECT_EQ(calls.load(), 3);
}

TEST(StallWatcherTest, RemainingChecksRunOnceWithStoppingAtDestruction) {
  std::atomic<int> running{0}, stopped{0};
  {
    // A period far longer than the test: the checks can only run from the destructor.
    StallWatcher watcher(absl::Hours(1));
    for (int i = 0; i < 3; ++i) {
      watcher.Watch([&](bool stopping) {
        ++(stopping ? stopped : running);
        return !stopping;
      });
    }
  }
  EXPECT_EQ(running.load(), 0);
  EXPECT_EQ(stopped.load(), 3);
}

// A check may add another (the watcher holds no lock while checks run).
TEST(StallWatcherTest, ACheckMayAddAnother) {
  absl::Notification added_ran;
  StallWatcher watcher(absl::Milliseconds(1));
  watcher.Watch([&](bool stopping) {
    if (!stopping) {
      watcher.Watch([&](bool stopping) {
        if (!stopping && !added_ran.HasBeenNotified()) added_ran.Notify();
        return false;
      });
    }
    return false;
  });
  EXPECT_TRUE(added_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

}  // namespace
}  // namespace trm::server
