// SpinBarrier: the barrier between the fast step's threads (model/fast_step.cc). They meet dozens
// of times a step, a few microseconds of work apart, so a waiting thread spins; it yields its
// core only after a long wait (another process or thread holds the core it waits for).
//
// Why not `#pragma omp barrier`: libgomp spins only 100 times before sleeping in the kernel once
// it counts more OpenMP threads than CPUs, which a server always does (each model's scheduler
// thread owns a team, and so does the main thread). Each wake-up is then a futex call and, on a
// VM, an inter-processor interrupt: on the bundled models' shape at batch 1 the threads spent
// 56% of the step waiting at barriers (`trm-bench --mode=profile`, bench/RESULTS.md).
#pragma once

#include <atomic>
#include <cstdint>

namespace trm::model::fast {

class SpinBarrier {
 public:
  // Returns once `threads` threads (the team's size, the same in every call of a round) have
  // called it; each then sees what every other wrote before its call. Reusable at once.
  void Wait(int threads);

 private:
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<uint32_t> generation_{0};
};

}  // namespace trm::model::fast
