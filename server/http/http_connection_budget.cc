#include "server/http/http_connection_budget.h"

namespace trm::server {

void HttpConnectionBudget::Acquire() {
  MutexLock lock(&mu_);
  if (open_ >= limit_ && !closed_) {
    ++waits_;
    ++waiting_;
    changed_.SignalAll();  // Wakes WaitUntilFull.
    while (open_ >= limit_ && !closed_) changed_.Wait(&mu_);
    --waiting_;
  }
  ++open_;
}

void HttpConnectionBudget::Release() {
  MutexLock lock(&mu_);
  --open_;
  changed_.SignalAll();
}

void HttpConnectionBudget::Close() {
  MutexLock lock(&mu_);
  closed_ = true;
  changed_.SignalAll();
}

bool HttpConnectionBudget::WaitUntilFull(absl::Time deadline) {
  MutexLock lock(&mu_);
  while (waiting_ == 0 && !closed_) {
    if (changed_.WaitUntil(&mu_, deadline)) break;
  }
  return waiting_ > 0 || closed_;
}

int HttpConnectionBudget::open() {
  MutexLock lock(&mu_);
  return open_;
}

int64_t HttpConnectionBudget::waits() {
  MutexLock lock(&mu_);
  return waits_;
}

}  // namespace trm::server
