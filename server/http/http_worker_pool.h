// The worker threads of an HTTP server (cpp-httplib's TaskQueue): a connection is served by one
// worker from accept to close, so the pool bounds how many connections are served at once.
// Workers start on demand up to `max_threads` and then stay; connections beyond that wait in
// arrival order. Unlike httplib's ThreadPool, an idle server holds no threads and a busy one
// grows to its bound only when that many connections are open at once. Every connection holds a
// place in the listener's HttpConnectionBudget from enqueue until it closes; enqueue, on the
// accepting thread, waits for a place when there is none.
#pragma once

#include <httplib.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/sync.h"
#include "server/http/http_connection_budget.h"

namespace trm::server {

class HttpWorkerPool final : public httplib::TaskQueue {
 public:
  // `waiting` (may be null) follows how many connections wait for a worker; `budget` (may be
  // null: no limit) must outlive the pool.
  HttpWorkerPool(int max_threads, std::shared_ptr<std::atomic<int>> waiting,
                 std::shared_ptr<HttpConnectionBudget> budget);
  ~HttpWorkerPool() override;  // shutdown() if not done yet.

  // Takes a place in the budget (waiting for one while it is spent), then runs `fn` on an idle
  // worker, a new one while below the bound, or queues it.
  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then joins every worker (httplib calls it when the server stops).
  void shutdown() override;

 private:
  void Work();

  const int max_threads_;
  const std::shared_ptr<std::atomic<int>> waiting_;
  const std::shared_ptr<HttpConnectionBudget> budget_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trm::server
