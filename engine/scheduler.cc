#include "engine/scheduler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"

namespace trm::engine {
namespace {

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

ModelScheduler::ModelScheduler(std::string name, std::shared_ptr<const ServingModel> model,
                               SchedulerConfig config, CompletionExecutor* completions)
    : name_(std::move(name)), config_(config), completions_(completions) {
  {
    MutexLock lock(&mu_);
    model_ = std::move(model);
  }
  thread_ = std::thread([this] { Loop(); });
}

ModelScheduler::~ModelScheduler() { Stop(); }

absl::Status ModelScheduler::Enqueue(std::shared_ptr<RequestState> request) {
  MutexLock lock(&mu_);
  if (stopping_) {
    return absl::UnavailableError(absl::StrCat("model ", name_, ": shutting down"));
  }
  const size_t limit = static_cast<size_t>(std::max(config_.options.max_queue_size, 0));
  if (queue_.size() >= limit) {
    return absl::ResourceExhaustedError(absl::StrCat("model ", name_, ": overloaded, queue holds ",
                                                     queue_.size(), " of ", limit,
                                                     " waiting requests"));
  }
  queued_rows_ += request->num_rows();
  queue_.push_back(std::move(request));
  stat_queue_depth_.fetch_add(1, std::memory_order_relaxed);
  idle_ = false;
  wake_.Signal();
  return absl::OkStatus();
}

void ModelScheduler::ReplaceModel(std::shared_ptr<const ServingModel> model) {
  MutexLock lock(&mu_);
  model_ = std::move(model);
}

std::shared_ptr<const ServingModel> ModelScheduler::model() const {
  MutexLock lock(&mu_);
  return model_;
}

ModelStats ModelScheduler::Stats() const {
  ModelStats s;
  s.queue_depth = stat_queue_depth_.load(std::memory_order_relaxed);
  s.active_requests = stat_active_requests_.load(std::memory_order_relaxed);
  s.active_rows = stat_active_rows_.load(std::memory_order_relaxed);
  s.max_batch_size = config_.options.max_batch_size;
  s.steps_run = stat_steps_.load(std::memory_order_relaxed);
  for (int b = 0; b < kNumOccupancyBuckets; ++b) {
    s.occupancy_counts[b] = stat_occupancy_[b].load(std::memory_order_relaxed);
  }
  s.occupancy_sum = stat_occupancy_sum_millis_.load(std::memory_order_relaxed) / 1000.0;
  return s;
}

bool ModelScheduler::WaitIdle(absl::Time deadline) {
  MutexLock lock(&mu_);
  while (!idle_) {
    if (idle_cv_.WaitUntil(&mu_, deadline)) break;
  }
  return idle_;
}

void ModelScheduler::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void ModelScheduler::Loop() {
  c10::InferenceMode inference_mode;  // No autograd anywhere on the serving path.
  while (WaitForWork()) {
    Expire(absl::Now());
    Free();
    Admit(absl::Now());
    PublishStats();  // Monitoring sees the batch as it steps.
    for (auto& batch : batches_) Step(*batch);
    PublishStats();
  }
  FailAll("engine stopped");
}

bool ModelScheduler::WaitForWork() {
  bool running = false;
  for (const auto& batch : batches_) running = running || batch->occupied() > 0;
  MutexLock lock(&mu_);
  if (!running) {
    while (!stopping_ && queue_.empty()) {
      idle_ = true;
      idle_cv_.SignalAll();
      wake_.Wait(&mu_);
    }
    if (config_.static_batching && !stopping_) {
      // Wait for a full batch, or until the first request has waited the batch timeout.
      const absl::Time until = queue_.front()->enqueued() + config_.static_batch_timeout;
      while (!stopping_ && queued_rows_ < config_.options.max_batch_size &&
             !wake_.WaitUntil(&mu_, until)) {
      }
    }
  }
  return !stopping_;
}

void ModelScheduler::Expire(absl::Time now) {
  for (auto& batch : batches_) {
    for (SlotBatch::Slot& slot : batch->slots()) {
      if (!slot.live) continue;
      RequestState& request = *slot.request;
      if (!request.scheduler_side().finished) {
        if (request.cancelled()) {
          Fail(slot.request,
               absl::CancelledError(absl::StrCat("request ", request.spec().request_id,
                                                 ": cancelled by the caller")),
               slot.steps);
        } else if (now >= request.spec().deadline) {
          Fail(slot.request,
               absl::DeadlineExceededError(absl::StrCat("request ", request.spec().request_id,
                                                        ": deadline passed after ", slot.steps,
                                                        " ACT steps")),
               slot.steps);
        } else if (!request.answered()) {
          continue;  // Still running.
        } else {
          // Answered: a decided vote; its other rows stop as done work, not as cancelled.
          request.scheduler_side().finished = true;
        }
      }
      Release(slot);
    }
  }
}

void ModelScheduler::Free() {
  for (auto& batch : batches_) {
    const bool any_live = std::any_of(batch->slots().begin(), batch->slots().end(),
                                      [](const SlotBatch::Slot& s) { return s.live; });
    // A static batch keeps its halted rows until every row is done.
    if (!config_.static_batching || !any_live) batch->Compact();
  }
  // Older generations go once empty; the newest keeps its tensors for the next admissions.
  if (batches_.size() > 1) {
    const SlotBatch* newest = batches_.back().get();
    std::erase_if(batches_, [newest](const std::unique_ptr<SlotBatch>& b) {
      return b->occupied() == 0 && b.get() != newest;
    });
  }
}

void ModelScheduler::Admit(absl::Time now) {
  const int capacity = config_.options.max_batch_size;
  int occupied = 0;
  for (const auto& batch : batches_) occupied += batch->occupied();
  const int free = config_.static_batching ? (occupied == 0 ? capacity : 0) : capacity - occupied;

  std::vector<SlotBatch::Admission> admitted;
  std::vector<std::shared_ptr<RequestState>> dropped;
  std::shared_ptr<const ServingModel> current;
  {
    MutexLock lock(&mu_);
    current = model_;
    // Requests that can no longer run leave the queue wherever they are.
    for (auto it = queue_.begin(); it != queue_.end();) {
      RequestState& r = **it;
      if (r.scheduler_side().finished || r.answered() || r.cancelled() ||
          now >= r.spec().deadline) {
        queued_rows_ -= r.num_rows() - r.scheduler_side().next_row;
        dropped.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    // Rows in queue order. A request whose rows do not all fit keeps its place. A long one (more
    // steps than the model's halt_max_steps) goes in only up to its client's share of the slots
    // and otherwise waits while requests behind it go in: rows are never pre-empted, so slots
    // held by such rows would keep every other client out for as long as they run. Requests of
    // normal length are not held back: their slots free within halt_max_steps steps.
    const int share = ClientShareRows();
    int left = free;
    for (auto it = queue_.begin(); left > 0 && it != queue_.end();) {
      RequestState& r = **it;
      RequestState::SchedulerSide& s = r.scheduler_side();
      const std::string& client = r.spec().client;
      if (!s.active) s.long_run = r.spec().halt.max_steps() > current->info.halt_max_steps;
      int take = std::min(left, r.num_rows() - s.next_row);
      if (s.long_run && !client.empty()) {
        auto held = client_rows_.find(client);
        if (held != client_rows_.end()) take = std::min(take, share - held->second);
      }
      if (take <= 0) {
        ++it;
        continue;
      }
      if (!s.active) {
        s.active = true;
        ++active_requests_;
        r.SetAdmitted(now, current->info.version);
      }
      for (int k = 0; k < take; ++k) admitted.push_back({*it, s.next_row + k});
      if (s.long_run && !client.empty()) client_rows_[client] += take;
      s.next_row += take;
      s.rows_in_slots += take;
      queued_rows_ -= take;
      left -= take;
      it = s.next_row == r.num_rows() ? queue_.erase(it) : std::next(it);
    }
    // Requests none of whose rows has a slot yet.
    int64_t waiting = static_cast<int64_t>(queue_.size());
    for (const auto& r : queue_) waiting -= r->scheduler_side().next_row > 0 ? 1 : 0;
    stat_queue_depth_.store(waiting, std::memory_order_relaxed);
  }
  for (auto& request : dropped) {
    RequestState::SchedulerSide& s = request->scheduler_side();
    if (s.finished) continue;
    if (request->answered()) {  // A decided vote with rows never admitted.
      s.finished = true;
      Settle(*request);
      continue;
    }
    Fail(request,
         request->cancelled()
             ? absl::CancelledError(
                   absl::StrCat("request ", request->spec().request_id, ": cancelled while queued"))
             : absl::DeadlineExceededError(absl::StrCat("request ", request->spec().request_id,
                                                        ": deadline passed while queued")),
         0);
  }
  if (admitted.empty()) return;
  if (batches_.empty() || batches_.back()->model() != current) {
    batches_.push_back(std::make_unique<SlotBatch>(current, capacity));
  }
  try {
    batches_.back()->Admit(admitted);
  } catch (const std::exception& e) {
    const absl::Status status = TorchError("admission", e);
    for (const SlotBatch::Admission& a : admitted) {
      --a.request->scheduler_side().rows_in_slots;
      ClientRowsFreed(*a.request, 1);
    }
    for (const SlotBatch::Admission& a : admitted) Fail(a.request, status, 0);
  }
}

void ModelScheduler::Step(SlotBatch& batch) {
  const bool any_live = std::any_of(batch.slots().begin(), batch.slots().end(),
                                    [](const SlotBatch::Slot& s) { return s.live; });
  if (!any_live) return;
  SlotBatch::Output out;
  try {
    out = batch.Step();
  } catch (const std::exception& e) {
    const absl::Status status = TorchError("ACT step", e);
    for (SlotBatch::Slot& slot : batch.slots()) {
      if (!slot.live) continue;
      Fail(slot.request, status, slot.steps);
      Release(slot);
    }
    batch.Clear();
    return;
  }
  stat_steps_.fetch_add(1, std::memory_order_relaxed);
  const double occupancy = static_cast<double>(batch.occupied()) / batch.capacity();
  const int bucket = static_cast<int>(
      std::lower_bound(std::begin(kOccupancyBuckets), std::end(kOccupancyBuckets), occupancy) -
      std::begin(kOccupancyBuckets));
  stat_occupancy_[std::min(bucket, kNumOccupancyBuckets - 1)].fetch_add(1,
                                                                        std::memory_order_relaxed);
  stat_occupancy_sum_millis_.fetch_add(std::lround(occupancy * 1000), std::memory_order_relaxed);

  // Decide halting per row; collect what each request's completion side must hear.
  const float* q = out.q_halt.data_ptr<float>();
  std::vector<std::pair<RequestState*, RowStep>> reports;
  std::span<SlotBatch::Slot> slots = batch.slots();
  for (int i = 0; i < static_cast<int>(slots.size()); ++i) {
    SlotBatch::Slot& slot = slots[i];
    if (!slot.live) continue;  // A static batch's finished row: computed, not reported.
    RequestState& request = *slot.request;
    slot.steps += 1;
    slot.confidence = Sigmoid(q[i]);
    const std::optional<HaltReason> halt = request.spec().halt.Decide(slot.steps, slot.confidence);
    const bool report = !request.scheduler_side().finished && !request.answered() &&
                        (halt.has_value() || (slot.row == 0 && request.wants_steps()));
    if (report) {
      reports.push_back({&request, RowStep{.row = slot.row,
                                           .slot = i,
                                           .steps = slot.steps,
                                           .confidence = slot.confidence,
                                           .halted = halt}});
    }
    if (halt) Release(slot);
  }
  if (reports.empty()) return;
  // One task per request, on its completion thread; they share the host copy of y.
  std::stable_sort(reports.begin(), reports.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto host = std::make_shared<const HostStep>(std::move(out.host));
  for (size_t i = 0; i < reports.size();) {
    RequestState* request = reports[i].first;
    std::shared_ptr<RequestState> owner = slots[reports[i].second.slot].request;
    std::vector<RowStep> rows;
    for (; i < reports.size() && reports[i].first == request; ++i)
      rows.push_back(reports[i].second);
    posts_.emplace_back(request->sequence(),
                        [owner = std::move(owner), host, rows = std::move(rows)]() mutable {
                          owner->OnSteps(*host, rows);
                        });
  }
  completions_->PostAll(posts_);
}

void ModelScheduler::Release(SlotBatch::Slot& slot) {
  slot.live = false;
  RequestState::SchedulerSide& s = slot.request->scheduler_side();
  --s.rows_in_slots;
  ClientRowsFreed(*slot.request, 1);
  Settle(*slot.request);
}

int ModelScheduler::ClientShareRows() const {
  const int capacity = config_.options.max_batch_size;
  if (config_.options.max_client_share >= 1) return capacity;
  return std::max(1, static_cast<int>(std::floor(capacity * config_.options.max_client_share)));
}

void ModelScheduler::ClientRowsFreed(RequestState& request, int rows) {
  const std::string& client = request.spec().client;
  if (!request.scheduler_side().long_run || client.empty()) return;
  auto it = client_rows_.find(client);
  if (it == client_rows_.end()) return;
  it->second -= rows;
  if (it->second <= 0) client_rows_.erase(it);
}

void ModelScheduler::Settle(RequestState& request) {
  RequestState::SchedulerSide& s = request.scheduler_side();
  if (!s.active || s.rows_in_slots > 0) return;
  if (!s.finished && s.next_row < request.num_rows()) return;  // More rows still to admit.
  s.active = false;
  s.finished = true;
  --active_requests_;
}

void ModelScheduler::Fail(const std::shared_ptr<RequestState>& request, absl::Status status,
                          int steps) {
  RequestState::SchedulerSide& s = request->scheduler_side();
  if (s.finished) return;
  s.finished = true;
  Settle(*request);
  completions_->Post(request->sequence(), [request, status = std::move(status), steps]() mutable {
    request->OnFailure(std::move(status), steps);
  });
}

absl::Status ModelScheduler::TorchError(const char* phase, const std::exception& e) const {
  std::string what = e.what();
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) what = c10->what_without_backtrace();
  if (dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
      dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("model ", name_, ": out of memory in the ", phase, ": ", what));
  }
  return absl::InternalError(absl::StrCat("model ", name_, ": ", phase, " failed: ", what));
}

void ModelScheduler::FailAll(const char* reason) {
  std::deque<std::shared_ptr<RequestState>> queued;
  {
    MutexLock lock(&mu_);
    queued.swap(queue_);
    queued_rows_ = 0;
  }
  auto unavailable = [&](const RequestState& r) {
    return absl::UnavailableError(absl::StrCat("model ", name_, ": ", reason, " before request ",
                                               r.spec().request_id, " finished"));
  };
  for (auto& batch : batches_) {
    for (SlotBatch::Slot& slot : batch->slots()) {
      if (!slot.live) continue;
      Fail(slot.request, unavailable(*slot.request), slot.steps);
      Release(slot);
    }
  }
  for (auto& request : queued) Fail(request, unavailable(*request), 0);
  batches_.clear();
  active_requests_ = 0;
  PublishStats();
  stat_queue_depth_.store(0, std::memory_order_relaxed);
  MutexLock lock(&mu_);
  idle_ = true;
  idle_cv_.SignalAll();
}

void ModelScheduler::PublishStats() {
  int64_t rows = 0;
  for (const auto& batch : batches_) rows += batch->occupied();
  stat_active_rows_.store(rows, std::memory_order_relaxed);
  stat_active_requests_.store(active_requests_, std::memory_order_relaxed);
}

}  // namespace trm::engine
