// SpinBarrier: every thread sees every other's writes from before the barrier, round after round,
// with more threads than cores (waiters must yield, not spin forever), and a team of one.
#include "model/spin_barrier.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace trm::model::fast {
namespace {

// Each round every thread writes its slot, meets the others, checks every slot, and meets them
// again before the next round overwrites the slots.
void RunRounds(int threads, int rounds) {
  SpinBarrier barrier;
  std::vector<int> slots(threads, -1);
  std::vector<int> mismatches(threads, 0);
  std::vector<std::thread> team;
  for (int t = 0; t < threads; ++t) {
    team.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        slots[t] = r;
        barrier.Wait(threads);
        for (int other = 0; other < threads; ++other) mismatches[t] += slots[other] != r;
        barrier.Wait(threads);
      }
    });
  }
  for (auto& thread : team) thread.join();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(SpinBarrierTest, TwoThreadsSeeEachOthersWritesEveryRound) { RunRounds(2, 20000); }

TEST(SpinBarrierTest, MoreThreadsThanCoresStillMeet) {
  RunRounds(static_cast<int>(std::thread::hardware_concurrency()) + 3, 100);
}

TEST(SpinBarrierTest, ATeamOfOneDoesNotWait) {
  SpinBarrier barrier;
  for (int r = 0; r < 3; ++r) barrier.Wait(1);
}

}  // namespace
}  // namespace trm::model::fast
