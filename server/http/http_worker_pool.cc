#include "server/http/http_worker_pool.h"

namespace trm::server {

HttpWorkerPool::HttpWorkerPool(int max_threads, std::shared_ptr<std::atomic<int>> waiting,
                               std::shared_ptr<HttpConnectionBudget> budget)
    : max_threads_(max_threads < 1 ? 1 : max_threads),
      waiting_(waiting ? std::move(waiting) : std::make_shared<std::atomic<int>>(0)),
      budget_(std::move(budget)) {}

HttpWorkerPool::~HttpWorkerPool() { shutdown(); }

void HttpWorkerPool::enqueue(std::function<void()> fn) {
  if (budget_) budget_->Acquire();
  MutexLock lock(&mu_);
  jobs_.push_back(std::move(fn));
  ++*waiting_;
  // Idle workers may already be woken for earlier jobs; start one more only when none is free.
  if (idle_ < static_cast<int>(jobs_.size()) && static_cast<int>(threads_.size()) < max_threads_) {
    threads_.emplace_back([this] { Work(); });
  } else {
    cv_.Signal();
  }
}

void HttpWorkerPool::shutdown() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.SignalAll();
  for (auto& t : threads) t.join();
}

void HttpWorkerPool::Work() {
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(&mu_);
      ++idle_;
      while (jobs_.empty() && !stopping_) cv_.Wait(&mu_);
      --idle_;
      if (jobs_.empty()) return;  // Stopping, and everything queued has run.
      job = std::move(jobs_.front());
      jobs_.pop_front();
      --*waiting_;
    }
    job();  // Serves the connection until it closes.
    if (budget_) budget_->Release();
  }
}

}  // namespace trm::server
