// Runs checks every `period` on its own thread, for things that need a look now and then but have
// no event of their own to hang it on: a SolveSteps stream whose client has stopped reading gets
// no callback at all until the client goes, which may be never (gRPC's keepalive default is 2
// hours, and a client that keeps its connection alive but reads nothing passes keepalive).
//
// A check returns true to be called again, false to be forgotten. Checks run without any lock of
// the watcher held, so a check may cancel an RPC (whose callbacks can run inline) or add checks.
// On destruction the thread stops and each remaining check runs once more with `stopping` true
// (it must then release what it holds and return false).
#pragma once

#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "base/periodic_thread.h"
#include "base/sync.h"

namespace trm::server {

class StallWatcher {
 public:
  using Check = std::function<bool(bool stopping)>;

  explicit StallWatcher(absl::Duration period);
  ~StallWatcher();
  StallWatcher(const StallWatcher&) = delete;
  StallWatcher& operator=(const StallWatcher&) = delete;

  // Thread-safe; `check` first runs within one period.
  void Watch(Check check);

 private:
  bool Tick();  // One look at every check, on the thread.

  Mutex mu_;
  std::vector<Check> added_ ABSL_GUARDED_BY(mu_);
  std::vector<Check> checks_;  // The watcher thread's own (and the destructor's, after Stop).
  PeriodicThread thread_;      // Last: ticks once the rest is set.
};

}  // namespace trm::server
