// ModelScheduler: one model's bounded request queue and the thread that runs its ACT steps.
//
// The thread's loop does tensor work and halting only; each boundary between two ACT steps runs
// named phases:
//   1. Expire: rows whose request was cancelled, passed its deadline or was already answered
//      (a decided dihedral vote) leave their slots; cancelled and expired requests are failed.
//   2. Free: the freed slots are compacted (SlotBatch keeps the occupied rows a prefix).
//   3. Admit: waiting requests' rows take free slots, their carry reset in place.
//   4. Step: one ACT step per model generation over its occupied rows; y and q_halt come to the
//      host once; halting is decided per row (HaltPolicy); each request's rows are posted to its
//      completion thread (RequestState), which builds step events, votes and answers.
// Rows never wait for one another: continuous batching at ACT-step granularity. With
// `static_batching` (a benchmark baseline, the official evaluation's way) a batch is admitted
// only when the previous one is gone, and halted rows keep computing until the last one halts.
//
// A reload (ReplaceModel) only changes what new admissions run on: rows already running keep
// their generation's SlotBatch until they finish; all generations share max_batch_size slots.
//
// Every torch call runs under one guard: an exception (an out-of-memory, a device error) fails the
// requests it touched (RESOURCE_EXHAUSTED for out-of-memory, else INTERNAL, with the message),
// frees their slots, and the scheduler goes on.
//
// Threading: Enqueue / ReplaceModel / Stats / WaitIdle / Stop from any thread; everything else
// on the scheduler thread. The one lock (mu_) guards the queue and is taken once per boundary,
// never per row. Internal to engine/: sees torch.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/sync.h"
#include "engine/completion_executor.h"
#include "engine/engine_types.h"
#include "engine/request_state.h"
#include "engine/serving_model.h"
#include "engine/slot_batch.h"

namespace trm::engine {

struct SchedulerConfig {
  SchedulerOptions options;
  bool static_batching = false;
  // Static batching only: how long the first waiting request may wait for the batch to fill
  // (TF Serving's batch_timeout_micros).
  absl::Duration static_batch_timeout = absl::Milliseconds(20);
};

class ModelScheduler {
 public:
  // `completions` must outlive the scheduler.
  ModelScheduler(std::string name, std::shared_ptr<const ServingModel> model,
                 SchedulerConfig config, CompletionExecutor* completions);
  ~ModelScheduler();  // Stop().
  ModelScheduler(const ModelScheduler&) = delete;
  ModelScheduler& operator=(const ModelScheduler&) = delete;

  // Queues the request (all its rows). Never blocks on the model: RESOURCE_EXHAUSTED when the
  // queue holds max_queue_size requests, UNAVAILABLE once stopping. On OK the request will be
  // answered exactly once on its completion thread.
  absl::Status Enqueue(std::shared_ptr<RequestState> request);

  // New admissions run on `model` from the next boundary on.
  void ReplaceModel(std::shared_ptr<const ServingModel> model);
  std::shared_ptr<const ServingModel> model() const;

  ModelStats Stats() const;
  // Waits until nothing is queued and no slot is occupied, or `deadline`; true when idle.
  bool WaitIdle(absl::Time deadline);
  // Fails whatever is queued or running with UNAVAILABLE and joins the thread. Idempotent.
  void Stop();

  // Implementation details follow. API users need not read.
 private:
  void Loop();
  // Blocks while there is nothing to run and nothing to admit; false when stopping.
  bool WaitForWork();
  void Expire(absl::Time now);
  void Free();
  void Admit(absl::Time now);
  void Step(SlotBatch& batch);

  // A row leaves its slot (its request's bookkeeping follows); the slot itself is freed by Free.
  void Release(SlotBatch::Slot& slot);
  // Stops counting the request as active once none of its rows holds a slot and none is left to
  // admit (or it finished early).
  void Settle(RequestState& request);
  // Answers the request with `status` (once) on its completion thread; its rows leave their
  // slots at the next Expire and its unadmitted rows are dropped. `steps`: the most it ran.
  void Fail(const std::shared_ptr<RequestState>& request, absl::Status status, int steps);
  // The status for a torch exception: RESOURCE_EXHAUSTED for out-of-memory, else INTERNAL.
  absl::Status TorchError(const char* phase, const std::exception& e) const;
  void FailAll(const char* reason);
  void PublishStats();

  const std::string name_;
  const SchedulerConfig config_;
  CompletionExecutor* const completions_;

  mutable Mutex mu_;
  CondVar wake_;     // Enqueue, Stop.
  CondVar idle_cv_;  // The scheduler went idle.
  std::deque<std::shared_ptr<RequestState>> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queued_rows_ ABSL_GUARDED_BY(mu_) = 0;  // Unadmitted rows of the queued requests.
  std::shared_ptr<const ServingModel> model_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool idle_ ABSL_GUARDED_BY(mu_) = true;

  // The scheduler thread's: one SlotBatch per model generation still running, the newest last.
  std::vector<std::unique_ptr<SlotBatch>> batches_;
  int64_t active_requests_ = 0;  // Requests with rows admitted and not yet all released.
  // Slots held by each client's long rows (SchedulerSide::long_run; RequestState::Spec::client,
  // none for the empty one), and the most one client's long rows may hold while it has such rows
  // running (SchedulerOptions::max_client_share).
  std::unordered_map<std::string, int> client_rows_;
  int ClientShareRows() const;
  void ClientRowsFreed(RequestState& request, int rows);
  std::vector<std::pair<uint64_t, CompletionExecutor::Task>> posts_;  // Reused per step.

  // Published for Stats (relaxed: monitoring figures).
  std::atomic<int64_t> stat_queue_depth_{0};
  std::atomic<int64_t> stat_active_requests_{0};
  std::atomic<int64_t> stat_active_rows_{0};
  std::atomic<int64_t> stat_steps_{0};
  std::atomic<int64_t> stat_occupancy_[kNumOccupancyBuckets] = {};
  std::atomic<int64_t> stat_occupancy_sum_millis_{0};  // Sum of ratios, in thousandths.

  std::thread thread_;
};

}  // namespace trm::engine
