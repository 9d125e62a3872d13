#include "server/stall_watcher.h"

#include <chrono>

namespace trm::server {

StallWatcher::StallWatcher(absl::Duration period) : period_(period), thread_([this] { Run(); }) {}

StallWatcher::~StallWatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::vector<Check> added;
  {
    std::lock_guard lock(mu_);
    added.swap(added_);
  }
  for (auto& check : added) checks_.push_back(std::move(check));
  for (auto& check : checks_) check(/*stopping=*/true);
}

void StallWatcher::Watch(Check check) {
  std::lock_guard lock(mu_);
  added_.push_back(std::move(check));
}

void StallWatcher::Run() {
  const auto period = absl::ToChronoMicroseconds(period_);
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, period, [this] { return stop_; });
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
