#include "base/periodic_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"

namespace trm {
namespace {

TEST(PeriodicThread, TicksUntilTheTickSaysStop) {
  std::atomic<int> ticks{0};
  absl::Notification ended;
  PeriodicThread thread(absl::Milliseconds(1), [&](const std::atomic<bool>&) {
    if (++ticks < 5) return true;
    ended.Notify();
    return false;
  });
  ended.WaitForNotification();
  thread.Stop();
  EXPECT_EQ(ticks.load(), 5);  // None after the tick that returned false.
}

// A period far longer than any test: the first tick comes at once, a long tick sees Stop, and
// Stop wakes the wait rather than sitting it out (a hang here is the failure, caught by the
// test's timeout).
TEST(PeriodicThread, StopWakesTheWaitAndNoTickFollows) {
  std::atomic<int> ticks{0};
  absl::Notification first;
  PeriodicThread thread(
      absl::Hours(1),
      [&](const std::atomic<bool>& stopping) {
        ++ticks;
        first.Notify();
        // A long tick: it ends once Stop is called.
        while (!stopping.load()) std::this_thread::yield();
        return true;
      },
      PeriodicThread::FirstTick::kAtOnce);
  first.WaitForNotification();  // The first tick came at once, not after an hour.
  thread.Stop();
  thread.Stop();  // Idempotent.
  EXPECT_EQ(ticks.load(), 1);
}

TEST(PeriodicThread, WithoutStopTheDestructorEndsIt) {
  std::atomic<int> ticks{0};
  {
    PeriodicThread thread(absl::Hours(1), [&](const std::atomic<bool>&) { return ++ticks > 0; });
  }
  EXPECT_EQ(ticks.load(), 0);  // The first tick was an hour away.
}

}  // namespace
}  // namespace trm
