// RequestState: one request inside the engine, from Submit to its one answer.
//
// A request is the unit outside the engine's internals; its rows (one, its dihedral views, or its
// ARC variants) are how it runs in the batch. The scheduler thread reports each row's steps as
// RowSteps over a shared HostStep; the request's completion thread (CompletionExecutor, keyed by
// `sequence`) turns them into step events and, exactly once, the request's Result: every Result
// the engine answers with is built here. Plain C++, no torch.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/engine_types.h"
#include "engine/halt_policy.h"
#include "puzzle/arc_augment.h"

namespace trm::engine {

// The host copy of one ACT step's answers for a whole batch, shared by the requests whose rows ran
// in it.
struct HostStep {
  std::shared_ptr<const void> owner;  // Keeps `tokens` alive (a host tensor).
  const int32_t* tokens = nullptr;    // [slots, seq_len]: y, the argmax of the logits.
  int seq_len = 0;
  std::span<const int32_t> Row(int slot) const {
    return {tokens + static_cast<size_t>(slot) * seq_len, static_cast<size_t>(seq_len)};
  }
};

// One row's ACT step, as the scheduler decided it.
struct RowStep {
  int row = 0;   // The row's index in its request.
  int slot = 0;  // Its row in the HostStep.
  int steps = 0;
  float confidence = 0;
  std::optional<HaltReason> halted;  // Set when the row stops after this step.
};

class RequestState {
 public:
  // How the rows' answers become the request's.
  enum class Combine {
    kOne,    // One row: its answer.
    kViews,  // Dihedral views: the confidence-weighted vote (dihedral_views.h), decided early.
    kArc,    // ARC variants: the official pass@k vote (arc_expansion.h).
  };
  struct Row {
    std::vector<int32_t> tokens;
    int32_t puzzle_identifier = 0;
  };
  // Fixed at Submit.
  struct Spec {
    std::string model;
    std::string request_id;
    std::string client;  // Request::client.
    std::vector<Row> rows;
    HaltPolicy halt;
    absl::Time deadline = absl::InfiniteFuture();
    std::shared_ptr<CancelToken> cancel;  // Never null.
    Combine combine = Combine::kOne;
    int grid_side = 0;                                   // kViews: the grid the views turn.
    std::vector<puzzle::ArcAugmentation> augmentations;  // kArc: one per row.
    int arc_attempts = 0;                                // kArc.
    std::function<void(const StepEvent&)> on_step;       // Row 0's steps; may be empty.
    std::function<void(Result)> on_done;
    std::shared_ptr<ModelObserver> observer;  // May be null.
  };

  RequestState(Spec spec, uint64_t sequence, absl::Time enqueued);
  ~RequestState();
  RequestState(const RequestState&) = delete;
  RequestState& operator=(const RequestState&) = delete;

  const Spec& spec() const { return spec_; }
  uint64_t sequence() const { return sequence_; }
  int num_rows() const { return static_cast<int>(spec_.rows.size()); }
  absl::Time enqueued() const { return enqueued_; }
  // Whether the scheduler must report every step of row 0, not only halting ones.
  bool wants_steps() const { return wants_steps_; }
  bool cancelled() const { return spec_.cancel->cancelled(); }

  // The scheduler thread's bookkeeping (no other thread touches it).
  struct SchedulerSide {
    int next_row = 0;       // Rows admitted to slots so far.
    int rows_in_slots = 0;  // Admitted rows not yet freed.
    bool active = false;    // Counted in the active requests: admitted, rows not all released.
    bool finished = false;  // Failed, answered or every row done: nothing more is reported.
    // Runs longer than the model's halt_max_steps (ignore_halting, a larger max_steps): its rows
    // count in its client's share of the slots.
    bool long_run = false;
  };
  SchedulerSide& scheduler_side() { return sched_; }

  // Written by the scheduler at the first row's admission, before anything is reported.
  void SetAdmitted(absl::Time when, const std::string& model_version) {
    admitted_ = when;
    model_version_ = model_version;
  }

  // Set on the completion side once the request has its answer; the scheduler then frees the
  // request's remaining rows at its next boundary, as done work (a decided vote), not cancelled.
  bool answered() const { return answered_.load(std::memory_order_acquire); }

  // Completion side: called on the request's completion thread only, in the order the scheduler
  // posted them. Reports after the answer are ignored.
  void OnSteps(const HostStep& host, std::span<const RowStep> rows);
  // The request failed as a whole (cancelled, deadline, shutdown, the step failed): answers with
  // `status`; `steps` is the most any row ran.
  void OnFailure(absl::Status status, int steps);

  // Implementation details follow. API users need not read.
 private:
  struct RowAnswer {
    std::vector<int32_t> tokens;
    float confidence = 0;
    int steps = 0;
    HaltReason halt_reason = HaltReason::kMaxSteps;
  };
  void EmitStep(const HostStep& host, const RowStep& row, bool final);
  // The answer once every row (or, with views, a decided vote) allows it; nullopt before.
  std::optional<Result> TryCombine();
  void Answer(Result result);

  // Fixed but for the callbacks, which the completion side moves out when it answers (so whatever
  // they hold is released then, not when the scheduler lets go of the state).
  Spec spec_;
  const bool wants_steps_;
  const uint64_t sequence_;
  const absl::Time enqueued_;
  SchedulerSide sched_;
  absl::Time admitted_ = absl::InfinitePast();
  std::string model_version_;
  std::atomic<bool> answered_{false};

  // The completion thread's.
  std::vector<std::optional<RowAnswer>> answers_;  // Index = row.
  int rows_answered_ = 0;
  std::vector<int32_t> previous_;  // Row 0's previous step, for changed cells.
  int last_step_ = 0;              // Row 0's last reported step.
  bool done_ = false;
};

}  // namespace trm::engine
