#include "server/grpc/stall_watcher.h"

namespace trm::server {

StallWatcher::StallWatcher(absl::Duration period)
    : thread_(period, [this](const std::atomic<bool>&) { return Tick(); }) {}

StallWatcher::~StallWatcher() {
  thread_.Stop();
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

bool StallWatcher::Tick() {
  {
    MutexLock lock(&mu_);
    for (auto& check : added_) checks_.push_back(std::move(check));
    added_.clear();
  }
  std::vector<Check> keep;
  keep.reserve(checks_.size());
  for (auto& check : checks_) {
    if (check(/*stopping=*/false)) keep.push_back(std::move(check));
  }
  checks_.swap(keep);
  return true;
}

}  // namespace trm::server
