// PeriodicThread: calls `tick` on a thread of its own every `period` until stopped. Stop (and the
// destructor) wakes a thread waiting between ticks at once and joins it; a tick under way runs to
// its end (a long one watches the `stopping` it is given and gives up soon after it turns true).
// The skeleton the server's memory trimmer, stream stall watcher and watchdogs share.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "absl/time/time.h"
#include "base/sync.h"

namespace trm {

class PeriodicThread {
 public:
  enum class FirstTick { kAfterOnePeriod, kAtOnce };
  // `tick` returns false to end the thread (later ticks are not run). Ticks start `period`
  // apart (measured from each tick's start), the first one after one period or at once.
  using Tick = std::function<bool(const std::atomic<bool>& stopping)>;
  PeriodicThread(absl::Duration period, Tick tick, FirstTick first = FirstTick::kAfterOnePeriod);
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // After it returns no tick runs any more. Idempotent; not from the tick itself.
  void Stop();

 private:
  void Run();

  const absl::Duration period_;
  const FirstTick first_;
  const Tick tick_;
  std::atomic<bool> stopping_{false};
  Mutex mu_;  // With wake_, for the wait between ticks.
  CondVar wake_;
  std::thread thread_;  // Last: started once the rest is set.
};

}  // namespace trm
