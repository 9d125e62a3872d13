#include "engine/scheduler.h"

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

namespace trm::engine {

struct ModelScheduler::Row {
  std::shared_ptr<RowRequest> req;
  int steps = 0;
  std::vector<int32_t> answer;  // The previous step's y, for changed cells.
  float confidence = 0.0f;
  bool live = true;  // False once answered; static batches keep dead rows until the end.
  absl::Time admitted;
  double compute_ms = 0;
};

// The rows running on one model generation. Tensor row i is rows[i].
struct ModelScheduler::Batch {
  std::shared_ptr<const ServingModel> model;
  std::vector<Row> rows;
  model::Carry carry;        // z_H, z_L: [rows, FullSeqLen, hidden].
  torch::Tensor inputs;      // [rows, seq_len] int32.
  torch::Tensor puzzle_ids;  // [rows] int32.
};

namespace {

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

}  // namespace

ModelScheduler::ModelScheduler(std::string name, std::shared_ptr<const ServingModel> model,
                               SchedulerConfig config)
    : name_(std::move(name)), config_(config), model_(std::move(model)) {
  thread_ = std::thread([this] { Loop(); });
}

ModelScheduler::~ModelScheduler() { Stop(); }

absl::Status ModelScheduler::Enqueue(std::vector<std::shared_ptr<RowRequest>> rows) {
  const absl::Time now = absl::Now();
  std::unique_lock lock(mu_);
  if (stopping_) {
    return absl::UnavailableError(absl::StrCat("model ", name_, ": shutting down"));
  }
  const size_t limit = static_cast<size_t>(std::max(config_.options.max_queue_size, 0));
  if (queue_.size() + rows.size() > limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("model ", name_, ": overloaded, queue holds ", queue_.size(), " of ", limit,
                     " waiting requests",
                     rows.size() > 1 ? absl::StrCat(" (need ", rows.size(), " rows)") : ""));
  }
  for (auto& row : rows) {
    row->enqueued = now;
    queue_.push_back(std::move(row));
  }
  queue_depth_.store(static_cast<int64_t>(queue_.size()), std::memory_order_relaxed);
  // Under the lock: the scheduler thread cannot be between its check and its wait. One waiter.
  wake_.notify_one();
  return absl::OkStatus();
}

void ModelScheduler::ReplaceModel(std::shared_ptr<const ServingModel> model) {
  std::unique_lock lock(mu_);
  model_ = std::move(model);
}

std::shared_ptr<const ServingModel> ModelScheduler::model() const {
  std::unique_lock lock(mu_);
  return model_;
}

ModelStats ModelScheduler::Stats() const {
  ModelStats s;
  s.queue_depth = queue_depth_.load(std::memory_order_relaxed);
  s.active_slots = active_rows_.load(std::memory_order_relaxed);
  s.max_batch_size = config_.options.max_batch_size;
  s.steps_run = steps_run_.load(std::memory_order_relaxed);
  return s;
}

bool ModelScheduler::Idle() const {
  std::unique_lock lock(mu_);
  return queue_.empty() && active_rows_.load() == 0;
}

void ModelScheduler::Stop() {
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void ModelScheduler::Finish(RowRequest& row, Result result) {
  result.model = name_;
  if (EngineObserver* o = config_.observer ? config_.observer->load() : nullptr) {
    o->OnRequestDone(name_, result);
  }
  if (row.on_done) {
    auto on_done = std::move(row.on_done);
    row.on_done = nullptr;
    on_done(std::move(result));
  }
}

void ModelScheduler::Loop() {
  // No autograd anywhere on the serving path.
  c10::InferenceMode inference_mode;
  std::vector<std::unique_ptr<Batch>> batches;
  while (Boundary(batches)) {
    for (auto& batch : batches) RunStep(*batch);
  }
  AnswerAllUnavailable(batches);
}

bool ModelScheduler::Boundary(std::vector<std::unique_ptr<Batch>>& batches) {
  absl::Time now = absl::Now();
  // 1. Rows whose caller left or whose deadline passed give up their slot.
  for (auto& batch : batches) {
    for (Row& row : batch->rows) {
      if (!row.live) continue;
      const bool cancelled = row.req->cancelled.load(std::memory_order_acquire);
      if (!cancelled && now < row.req->deadline) continue;
      Result r;
      r.status = cancelled ? absl::CancelledError(absl::StrCat("request ", row.req->request_id,
                                                               ": cancelled by the caller"))
                           : absl::DeadlineExceededError(
                                 absl::StrCat("request ", row.req->request_id,
                                              ": deadline passed after ", row.steps, " ACT steps"));
      r.answer_tokens = row.answer;
      r.steps = row.steps;
      r.confidence = row.confidence;
      r.model_version = batch->model->info.version;
      r.timing = {Ms(row.admitted - row.req->enqueued), row.compute_ms,
                  Ms(now - row.req->enqueued)};
      row.live = false;
      Finish(*row.req, std::move(r));
    }
  }
  // 2. Free dead rows' slots (continuous), or a static batch once all of it is done.
  int64_t occupied = 0;
  for (auto& batch : batches) {
    int live = 0;
    for (const Row& row : batch->rows) live += row.live;
    if (live == 0) {
      batch->rows.clear();
    } else if (!config_.static_batching && live < static_cast<int>(batch->rows.size())) {
      std::vector<int64_t> keep;
      std::vector<Row> kept;
      for (size_t i = 0; i < batch->rows.size(); ++i) {
        if (!batch->rows[i].live) continue;
        keep.push_back(static_cast<int64_t>(i));
        kept.push_back(std::move(batch->rows[i]));
      }
      auto index = torch::tensor(keep, torch::kLong).to(batch->inputs.device());
      batch->carry.z_h = batch->carry.z_h.index_select(0, index);
      batch->carry.z_l = batch->carry.z_l.index_select(0, index);
      batch->inputs = batch->inputs.index_select(0, index);
      batch->puzzle_ids = batch->puzzle_ids.index_select(0, index);
      batch->rows = std::move(kept);
    }
    occupied += static_cast<int64_t>(batch->rows.size());
  }
  std::erase_if(batches, [](const auto& b) { return b->rows.empty(); });

  // 3. Admit from the queue (one lock for the whole boundary).
  const int64_t capacity = config_.options.max_batch_size;
  int64_t free = config_.static_batching ? (batches.empty() ? capacity : 0) : capacity - occupied;
  std::vector<std::shared_ptr<RowRequest>> admitted, dropped;
  std::shared_ptr<const ServingModel> current;
  {
    std::unique_lock lock(mu_);
    if (batches.empty()) {
      active_rows_.store(0, std::memory_order_relaxed);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (config_.static_batching && !stopping_) {
        wake_.wait_until(
            lock, absl::ToChronoTime(queue_.front()->enqueued + config_.static_batch_timeout),
            [this, capacity] {
              return stopping_ || static_cast<int64_t>(queue_.size()) >= capacity;
            });
      }
    }
    if (stopping_) return false;
    current = model_;
    now = absl::Now();
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->cancelled.load(std::memory_order_acquire) || now >= (*it)->deadline) {
        dropped.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    while (free > 0 && !queue_.empty()) {
      admitted.push_back(std::move(queue_.front()));
      queue_.pop_front();
      --free;
    }
    // Inside the lock so Idle() never sees a popped row as neither queued nor active.
    active_rows_.store(occupied + static_cast<int64_t>(admitted.size()), std::memory_order_relaxed);
    queue_depth_.store(static_cast<int64_t>(queue_.size()), std::memory_order_relaxed);
  }
  for (auto& req : dropped) {
    Result r;
    const bool cancelled = req->cancelled.load();
    r.status = cancelled ? absl::CancelledError(absl::StrCat("request ", req->request_id,
                                                             ": cancelled while queued"))
                         : absl::DeadlineExceededError(absl::StrCat(
                               "request ", req->request_id, ": deadline passed while queued"));
    r.model_version = current->info.version;
    r.timing = {Ms(now - req->enqueued), 0, Ms(now - req->enqueued)};
    Finish(*req, std::move(r));
  }
  if (!admitted.empty()) {
    // New rows join the sub-batch of the current model generation (the last one), or start it.
    if (batches.empty() || batches.back()->model != current) {
      auto b = std::make_unique<Batch>();
      b->model = current;
      batches.push_back(std::move(b));
    }
    Batch& batch = *batches.back();
    const int64_t n = static_cast<int64_t>(admitted.size());
    const int64_t seq = current->config.seq_len;
    auto inputs = torch::empty({n, seq}, torch::kInt32);
    auto ids = torch::empty({n}, torch::kInt32);
    int32_t* in = inputs.data_ptr<int32_t>();
    int32_t* id = ids.data_ptr<int32_t>();
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(in + i * seq, admitted[i]->tokens.data(), sizeof(int32_t) * seq);
      id[i] = admitted[i]->puzzle_identifier;
    }
    inputs = inputs.to(current->device);
    ids = ids.to(current->device);
    // Fresh rows start at H_init / L_init (the official reset_carry for halted rows).
    model::Carry fresh = current->net->InitialCarry(n);
    if (batch.rows.empty()) {
      batch.carry = std::move(fresh);
      batch.inputs = inputs;
      batch.puzzle_ids = ids;
    } else {
      batch.carry.z_h = torch::cat({batch.carry.z_h, fresh.z_h}, 0);
      batch.carry.z_l = torch::cat({batch.carry.z_l, fresh.z_l}, 0);
      batch.inputs = torch::cat({batch.inputs, inputs}, 0);
      batch.puzzle_ids = torch::cat({batch.puzzle_ids, ids}, 0);
    }
    for (auto& req : admitted) {
      Row row;
      row.req = std::move(req);
      row.answer.assign(seq, -1);
      row.admitted = now;
      batch.rows.push_back(std::move(row));
    }
  }
  int64_t active = 0;
  for (auto& batch : batches) active += static_cast<int64_t>(batch->rows.size());
  active_rows_.store(active, std::memory_order_relaxed);
  return true;
}

void ModelScheduler::RunStep(Batch& batch) {
  const absl::Time start = absl::Now();
  torch::Tensor answers, q_halt;
  try {
    auto [carry, out] = batch.model->net->ActStep(batch.carry, batch.inputs, batch.puzzle_ids);
    batch.carry = std::move(carry);
    // The one device-to-host copy per step: y and the halting logits.
    answers = out.logits.argmax(-1).to(torch::kCPU, torch::kInt32).contiguous();
    q_halt = out.q_halt.to(torch::kCPU, torch::kFloat).contiguous();
  } catch (const std::exception& e) {
    const absl::Time now = absl::Now();
    for (Row& row : batch.rows) {
      if (!row.live) continue;
      row.live = false;
      Result r;
      r.status =
          absl::InternalError(absl::StrCat("model ", name_, ": ACT step failed: ", e.what()));
      r.steps = row.steps;
      r.model_version = batch.model->info.version;
      r.timing = {Ms(row.admitted - row.req->enqueued), row.compute_ms,
                  Ms(now - row.req->enqueued)};
      Finish(*row.req, std::move(r));
    }
    return;
  }
  const absl::Time end = absl::Now();
  const double step_ms = Ms(end - start);
  steps_run_.fetch_add(1, std::memory_order_relaxed);
  if (EngineObserver* o = config_.observer ? config_.observer->load() : nullptr) {
    o->OnBatchStep(name_, static_cast<int>(batch.rows.size()), config_.options.max_batch_size,
                   step_ms / 1000.0);
  }
  const int64_t seq = batch.model->config.seq_len;
  const int32_t* y = answers.data_ptr<int32_t>();
  const float* q = q_halt.data_ptr<float>();
  for (size_t i = 0; i < batch.rows.size(); ++i) {
    Row& row = batch.rows[i];
    if (!row.live) continue;  // A static batch's finished row: computed, not reported.
    const int32_t* yi = y + i * seq;
    row.steps += 1;
    row.compute_ms += step_ms;
    row.confidence = Sigmoid(q[i]);
    std::optional<HaltReason> halt = row.req->halt.Decide(row.steps, row.confidence);
    if (row.req->on_step) {
      StepEvent ev;
      ev.step = row.steps;
      ev.answer_tokens.assign(yi, yi + seq);
      ev.confidence = row.confidence;
      for (int64_t c = 0; c < seq; ++c) {
        if (yi[c] != row.answer[c]) ev.changed_cells.push_back(static_cast<int32_t>(c));
      }
      ev.final = halt.has_value();
      row.req->on_step(ev);
    }
    std::memcpy(row.answer.data(), yi, sizeof(int32_t) * seq);
    if (!halt) continue;
    row.live = false;
    Result r;
    r.answer_tokens = row.answer;
    r.steps = row.steps;
    r.confidence = row.confidence;
    r.halt_reason = *halt;
    r.model_version = batch.model->info.version;
    r.timing = {Ms(row.admitted - row.req->enqueued), row.compute_ms, Ms(end - row.req->enqueued)};
    Finish(*row.req, std::move(r));
  }
}

void ModelScheduler::AnswerAllUnavailable(std::vector<std::unique_ptr<Batch>>& batches) {
  std::deque<std::shared_ptr<RowRequest>> queued;
  {
    std::unique_lock lock(mu_);
    queued.swap(queue_);
    queue_depth_.store(0);
  }
  auto unavailable = [this](RowRequest& req, int steps) {
    Result r;
    r.status = absl::UnavailableError(absl::StrCat(
        "model ", name_, ": engine stopped before request ", req.request_id, " finished"));
    r.steps = steps;
    Finish(req, std::move(r));
  };
  for (auto& batch : batches) {
    for (Row& row : batch->rows) {
      if (row.live) unavailable(*row.req, row.steps);
      row.live = false;
    }
  }
  batches.clear();
  active_rows_.store(0);
  for (auto& req : queued) unavailable(*req, 0);
}

}  // namespace trm::engine
