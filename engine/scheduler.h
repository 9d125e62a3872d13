// ModelScheduler: one model's bounded queue and the thread that runs its ACT steps.
//
// At every ACT-step boundary the scheduler (1) frees the slots of rows that halted, were
// cancelled or passed their deadline, (2) admits waiting rows into free slots with their carry
// at H_init / L_init, (3) runs one ActStep for all active rows together and (4) decides, per
// row, whether it halts (HaltPolicy). Rows never wait for one another: continuous batching at
// ACT-step granularity. With `static_batching` (a benchmark baseline, the official evaluation's
// way) a batch is admitted only when the previous one is gone and halted rows keep their place
// until the last member halts.
//
// A reload (ReplaceModel) only changes what new admissions run on: rows already running keep
// their ServingModel (and its carry) until they finish; each model generation is its own
// sub-batch, sharing the max_batch_size slots.
//
// Threading: Enqueue / Cancel / Stats / ReplaceModel from any thread; everything else on the
// scheduler thread. The per-row state is touched by the scheduler thread only; the one lock
// (mu_) guards the queue and is taken once per step boundary, never per row.
// Internal to engine/: sees torch.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/halt_policy.h"
#include "engine/serving_model.h"

namespace trm::engine {

// One row's request as the scheduler carries it. `cancelled` is the only field written from
// other threads.
struct RowRequest {
  std::vector<int32_t> tokens;
  int32_t puzzle_identifier = 0;
  HaltPolicy halt;
  absl::Time deadline = absl::InfiniteFuture();
  std::string request_id;
  std::function<void(const StepEvent&)> on_step;
  std::function<void(Result)> on_done;
  std::atomic<bool> cancelled{false};
  absl::Time enqueued;
};

struct SchedulerConfig {
  SchedulerOptions options;
  bool static_batching = false;
  // Static batching only: how long the first waiting request may wait for the batch to fill
  // (TF Serving's batch_timeout_micros).
  absl::Duration static_batch_timeout = absl::Milliseconds(20);
  std::atomic<EngineObserver*>* observer = nullptr;  // Engine-owned; may hold nullptr.
};

class ModelScheduler {
 public:
  ModelScheduler(std::string name, std::shared_ptr<const ServingModel> model,
                 SchedulerConfig config);
  ~ModelScheduler();  // Stop(): whatever is queued or running is answered UNAVAILABLE.
  ModelScheduler(const ModelScheduler&) = delete;
  ModelScheduler& operator=(const ModelScheduler&) = delete;

  // Queues all `rows` or none. Never blocks on the model: RESOURCE_EXHAUSTED when they do not
  // all fit in the queue, UNAVAILABLE once stopping. On OK each row's on_done will be called
  // exactly once, on the scheduler thread (possibly before Enqueue returns).
  absl::Status Enqueue(std::vector<std::shared_ptr<RowRequest>> rows);

  // New admissions run on `model` from the next boundary on.
  void ReplaceModel(std::shared_ptr<const ServingModel> model);
  std::shared_ptr<const ServingModel> model() const;

  ModelStats Stats() const;
  // Nothing queued and nothing running.
  bool Idle() const;
  // Answers everything left with UNAVAILABLE and joins the thread. Idempotent.
  void Stop();

  // Implementation details follow. API users need not read.
 private:
  struct Row;
  struct Batch;

  void Loop();
  // Boundary: frees dead rows, answers cancelled/expired ones, admits from the queue. Returns
  // false when the scheduler should exit.
  bool Boundary(std::vector<std::unique_ptr<Batch>>& batches);
  void RunStep(Batch& batch);
  void Finish(RowRequest& row, Result result);
  void AnswerAllUnavailable(std::vector<std::unique_ptr<Batch>>& batches);

  const std::string name_;
  const SchedulerConfig config_;

  // std, not absl: Debian's absl is not built with ThreadSanitizer, so absl::Mutex's
  // happens-before edges would be invisible to the scheduler's TSan test.
  mutable std::mutex mu_;
  std::condition_variable wake_;  // Signalled on Enqueue and Stop.
  // Guarded by mu_:
  std::deque<std::shared_ptr<RowRequest>> queue_;
  std::shared_ptr<const ServingModel> model_;
  bool stopping_ = false;

  std::atomic<int64_t> queue_depth_{0};
  std::atomic<int64_t> active_rows_{0};
  std::atomic<int64_t> steps_run_{0};

  std::thread thread_;
};

}  // namespace trm::engine
