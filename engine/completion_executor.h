// CompletionExecutor: the threads that turn ACT-step results into answers, so the schedulers'
// threads only run tensors (the model server's step loop hands each slot's output to a response
// queue and never formats answers itself; llama.cpp's server and vLLM's engine core do the same).
//
// Tasks are posted with a shard key (a request's sequence number); every task of one key runs on
// the same thread, in the order posted, so a request's step events and its answer never
// reorder or overlap. Different keys run in parallel on `threads` threads. Plain C++, no torch.
#pragma once

#include <cstdint>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "base/sync.h"

namespace trm::engine {

class CompletionExecutor {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  explicit CompletionExecutor(int threads);
  // Runs every task already posted, then joins the threads.
  ~CompletionExecutor();
  CompletionExecutor(const CompletionExecutor&) = delete;
  CompletionExecutor& operator=(const CompletionExecutor&) = delete;

  // Queues `task` to run after every task posted earlier with a key of the same shard. Never
  // blocks on running tasks (only on the shard's queue lock).
  void Post(uint64_t key, Task task);
  // Posts several at once, taking each shard's lock once. `tasks` is left empty.
  void PostAll(std::vector<std::pair<uint64_t, Task>>& tasks);

  // Returns once every task posted before the call has run.
  void WaitIdle();

  int threads() const { return static_cast<int>(shards_.size()); }

  // Implementation details follow. API users need not read.
 private:
  struct Shard {
    Mutex mu;
    CondVar wake;     // A task was queued, or stopping.
    CondVar drained;  // The queue ran empty with nothing running.
    std::deque<Task> queue ABSL_GUARDED_BY(mu);
    bool running ABSL_GUARDED_BY(mu) = false;
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::thread thread;
  };
  void Run(Shard& shard);
  Shard& ShardOf(uint64_t key) { return *shards_[key % shards_.size()]; }

  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace trm::engine
