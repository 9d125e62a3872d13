#include "base/periodic_thread.h"

#include "absl/time/clock.h"

namespace trm {

PeriodicThread::PeriodicThread(absl::Duration period, Tick tick, FirstTick first)
    : period_(period), first_(first), tick_(std::move(tick)), thread_([this] { Run(); }) {}

void PeriodicThread::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_.store(true);
  }
  wake_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void PeriodicThread::Run() {
  absl::Time next = absl::Now() + (first_ == FirstTick::kAtOnce ? absl::ZeroDuration() : period_);
  for (;;) {
    {
      MutexLock lock(&mu_);
      while (!stopping_.load() && absl::Now() < next) wake_.WaitUntil(&mu_, next);
      if (stopping_.load()) return;
    }
    next = absl::Now() + period_;
    if (!tick_(stopping_)) return;
  }
}

}  // namespace trm
