// How many connections one HTTP listener may hold open at once (served, or waiting for a worker).
//
// Every accepted connection is a descriptor until it closes, and cpp-httplib 0.11 accepts as
// fast as clients connect: an HTTP slowloris (connections that trickle headers, opened faster
// than the slow-client sweep closes them) took every descriptor of the process, and then gRPC's
// accept4() failed with EMFILE and the process exited (issue 35). With a budget, the accepting
// thread waits at the limit instead (Go's netutil.LimitListener does the same): new connections
// queue in the kernel's listen backlog, which costs no descriptor, while the server's sweep
// closes its slowest idle connections early to make room (HttpServer). Connections inside a
// handler are never closed for room: a server busy with real requests just accepts more slowly.
#pragma once

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "base/sync.h"

namespace trm::server {

class HttpConnectionBudget {
 public:
  explicit HttpConnectionBudget(int limit) : limit_(limit < 1 ? 1 : limit) {}
  HttpConnectionBudget(const HttpConnectionBudget&) = delete;
  HttpConnectionBudget& operator=(const HttpConnectionBudget&) = delete;

  // Takes a place for a connection just accepted, waiting while the budget is spent until a
  // connection closes (Release) or Close().
  void Acquire();
  void Release();
  // For good: Acquire no longer waits (the server is stopping; what is accepted now is closed
  // by the stop), and WaitUntilFull returns at once.
  void Close();
  // Waits until `deadline`, or less: true as soon as an Acquire is waiting for a place (or after
  // Close).
  bool WaitUntilFull(absl::Time deadline);

  int limit() const { return limit_; }
  int open();
  int64_t waits();  // Acquires that had to wait: the budget was spent.

 private:
  const int limit_;
  Mutex mu_;
  CondVar changed_;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t waits_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace trm::server
