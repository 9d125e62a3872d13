#include "model/spin_barrier.h"

#include <thread>

namespace trm::model::fast {
namespace {

// About 0.3-3 ms of pause instructions (their latency is 40-140 cycles by core) before yielding:
// far longer than the gaps between a step's barriers, far shorter than a scheduler's time slice.
constexpr int kSpinsBeforeYield = 20000;

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

void SpinBarrier::Wait(int threads) {
  if (threads <= 1) return;
  const uint32_t generation = generation_.load(std::memory_order_acquire);
  // acq_rel: the last to arrive sees what every earlier arrival wrote before arriving.
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);  // publishes it all to the waiters
    return;
  }
  for (int spins = 0; generation_.load(std::memory_order_acquire) == generation; ++spins) {
    if (spins < kSpinsBeforeYield) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace trm::model::fast
