#include "server/guards/memory_trimmer.h"

#include <malloc.h>

#include "absl/time/clock.h"

namespace trm::server {

MemoryTrimmer::MemoryTrimmer(absl::Duration interval)
    : interval_(interval), thread_([this] { Run(); }) {}

MemoryTrimmer::~MemoryTrimmer() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  wake_.SignalAll();
  thread_.join();
}

void MemoryTrimmer::Run() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      const absl::Time wake_at = absl::Now() + interval_;
      while (!stop_ && absl::Now() < wake_at) wake_.WaitUntil(&mu_, wake_at);
      if (stop_) return;
    }
    malloc_trim(0);
  }
}

}  // namespace trm::server
