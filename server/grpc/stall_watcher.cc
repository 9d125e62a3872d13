#include "server/grpc/stall_watcher.h"

#include "absl/time/clock.h"

namespace trm::server {

StallWatcher::StallWatcher(absl::Duration period) : period_(period), thread_([this] { Run(); }) {}

StallWatcher::~StallWatcher() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  wake_.SignalAll();
  thread_.join();
  std::vector<Check> added;
  {
    MutexLock lock(&mu_);
    added.swap(added_);
  }
  for (auto& check : added) checks_.push_back(std::move(check));
  for (auto& check : checks_) check(/*stopping=*/true);
}

void StallWatcher::Watch(Check check) {
  MutexLock lock(&mu_);
  added_.push_back(std::move(check));
}

void StallWatcher::Run() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      const absl::Time wake_at = absl::Now() + period_;
      while (!stop_ && absl::Now() < wake_at) wake_.WaitUntil(&mu_, wake_at);
      if (stop_) return;
      for (auto& check : added_) checks_.push_back(std::move(check));
      added_.clear();
    }
    std::vector<Check> keep;
    keep.reserve(checks_.size());
    for (auto& check : checks_) {
      if (check(/*stopping=*/false)) keep.push_back(std::move(check));
    }
    checks_.swap(keep);
  }
}

}  // namespace trm::server
