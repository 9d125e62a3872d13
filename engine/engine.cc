// Engine: the model registry (name -> scheduler, one default per task) and request validation.
#include "engine/engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "engine/arc_expansion.h"
#include "engine/dihedral_views.h"
#include "engine/engine_internal.h"
#include "engine/halt_policy.h"
#include "engine/scheduler.h"
#include "engine/serving_model.h"

namespace trm::engine {

namespace {

class Handle : public RequestHandle {
 public:
  explicit Handle(std::vector<std::weak_ptr<RowRequest>> rows) : rows_(std::move(rows)) {}
  void Cancel() override {
    for (auto& weak : rows_) {
      if (auto row = weak.lock()) row->cancelled.store(true, std::memory_order_release);
    }
  }

 private:
  const std::vector<std::weak_ptr<RowRequest>> rows_;
};

// Collects the rows of one request (ARC augmentations, dihedral views); the last row to finish
// combines their results into the request's one answer.
class RowGroup {
 public:
  using Combine = std::function<Result(std::vector<Result>)>;
  RowGroup(size_t rows, Combine combine, std::function<void(Result)> on_done)
      : results_(rows),
        remaining_(rows),
        combine_(std::move(combine)),
        on_done_(std::move(on_done)) {}

  void RowDone(size_t i, Result r) {
    {
      std::unique_lock lock(mu_);
      results_[i] = std::move(r);
      if (--remaining_ > 0) return;
    }
    on_done_(combine_(std::move(results_)));
  }

 private:
  std::mutex mu_;
  std::vector<Result> results_;  // Each slot written once, by its row.
  size_t remaining_;             // Guarded by mu_.
  const Combine combine_;
  std::function<void(Result)> on_done_;
};

class EngineImpl : public EngineInternal {
 public:
  EngineImpl(const EngineOptions& options, torch::Device device)
      : options_(options), device_(device) {}
  ~EngineImpl() override {
    std::map<std::string, std::unique_ptr<ModelScheduler>> models;
    {
      std::unique_lock lock(mu_);
      draining_ = true;
      models.swap(models_);
    }
    for (auto& [name, s] : models) s->Stop();
  }

  absl::Status LoadModel(const std::string& name, const std::string& path,
                         bool make_default) override {
    if (name.empty()) return absl::InvalidArgumentError("model name is empty");
    {
      std::shared_lock lock(mu_);
      if (models_.count(name)) {
        return absl::AlreadyExistsError(
            absl::StrCat("model ", name, " is already loaded; use ReloadModel to replace it"));
      }
    }
    auto model = LoadServingModel(name, path, device_);
    if (!model.ok()) return model.status();
    return AddModel(name, *std::move(model), make_default, SchedulerConfig{});
  }

  absl::Status AddModel(const std::string& name, std::shared_ptr<const ServingModel> model,
                        bool make_default, SchedulerConfig config) override {
    config.options = options_.scheduler;
    config.observer = &observer_;
    const TaskKind task = model->info.task;
    auto scheduler = std::make_unique<ModelScheduler>(name, std::move(model), config);
    std::unique_lock lock(mu_);
    if (draining_) return absl::UnavailableError("engine is draining; no new models");
    if (models_.count(name)) {
      return absl::AlreadyExistsError(absl::StrCat("model ", name, " is already loaded"));
    }
    models_[name] = std::move(scheduler);
    if (make_default || !defaults_.count(task)) defaults_[task] = name;
    return absl::OkStatus();
  }

  absl::Status ReloadModel(const std::string& name, const std::string& path) override {
    ModelScheduler* scheduler = nullptr;
    TaskKind task;
    {
      std::shared_lock lock(mu_);
      auto it = models_.find(name);
      if (it == models_.end())
        return absl::NotFoundError(absl::StrCat("model ", name, " is not loaded"));
      scheduler = it->second.get();
      task = scheduler->model()->info.task;
    }
    auto model = LoadServingModel(name, path, device_);
    if (!model.ok()) return model.status();
    if ((*model)->info.task != task) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model ", name, ": checkpoint ", path, " is a ", TaskKindName((*model)->info.task),
          " model, the loaded one serves ", TaskKindName(task)));
    }
    std::shared_lock lock(mu_);  // Schedulers live until the engine dies.
    scheduler->ReplaceModel(*std::move(model));
    return absl::OkStatus();
  }

  std::vector<ModelInfo> ListModels() const override {
    std::shared_lock lock(mu_);
    std::vector<ModelInfo> out;
    for (const auto& [name, s] : models_) out.push_back(InfoLocked(name, *s));
    return out;
  }

  absl::StatusOr<ModelInfo> ResolveModel(const std::string& name, TaskKind task) const override {
    std::shared_lock lock(mu_);
    std::string resolved = name;
    if (resolved.empty()) {
      auto it = defaults_.find(task);
      if (it == defaults_.end()) {
        return absl::NotFoundError(absl::StrCat("no default model for ", TaskKindName(task)));
      }
      resolved = it->second;
    }
    auto it = models_.find(resolved);
    if (it == models_.end())
      return absl::NotFoundError(absl::StrCat("model ", resolved, " is not loaded"));
    return InfoLocked(resolved, *it->second);
  }

  absl::StatusOr<std::unique_ptr<RequestHandle>> Submit(const std::string& model_name,
                                                        Request request) override {
    std::shared_lock lock(mu_);
    auto s = FindLocked(model_name);
    if (!s.ok()) return s.status();
    ModelScheduler& scheduler = **s;
    const auto model = scheduler.model();
    const ModelInfo& info = model->info;
    if (static_cast<int>(request.tokens.size()) != info.seq_len) {
      return absl::InvalidArgumentError(absl::StrCat("request ", request.request_id, ": ",
                                                     request.tokens.size(), " tokens, model ",
                                                     model_name, " takes ", info.seq_len));
    }
    for (size_t i = 0; i < request.tokens.size(); ++i) {
      if (request.tokens[i] < 0 || request.tokens[i] >= info.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "request ", request.request_id, ": token ", request.tokens[i], " at position ", i,
            " is outside model ", model_name, "'s vocabulary 0..", info.vocab_size - 1));
      }
    }
    if (request.puzzle_identifier < 0 ||
        request.puzzle_identifier >= std::max(info.num_puzzle_identifiers, 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request ", request.request_id, ": puzzle_identifier ", request.puzzle_identifier,
          " is outside model ", model_name, "'s 0..", info.num_puzzle_identifiers - 1));
    }
    auto halt = HaltPolicy::Create(request.halt, info.halt_max_steps, DefaultThreshold(info));
    if (!halt.ok()) return halt.status();
    if (request.dihedral_views < 0 || request.dihedral_views > kMaxDihedralViews) {
      return absl::InvalidArgumentError(absl::StrCat("request ", request.request_id,
                                                     ": dihedral_views ", request.dihedral_views,
                                                     " is outside 0..", kMaxDihedralViews));
    }
    const int views = request.dihedral_views > 0 ? request.dihedral_views : info.dihedral_views;
    if (views > 1) return SubmitViews(scheduler, info, std::move(request), *halt, views);
    auto row = std::make_shared<RowRequest>();
    row->tokens = std::move(request.tokens);
    row->puzzle_identifier = request.puzzle_identifier;
    row->halt = *halt;
    row->deadline = request.deadline;
    row->request_id = std::move(request.request_id);
    row->on_step = std::move(request.on_step);
    row->on_done = std::move(request.on_done);
    std::vector<std::weak_ptr<RowRequest>> weak = {row};
    if (absl::Status st = scheduler.Enqueue({row}); !st.ok()) return st;
    return std::make_unique<Handle>(std::move(weak));
  }

  absl::StatusOr<std::unique_ptr<RequestHandle>> SubmitArc(const std::string& model_name,
                                                           ArcRequest request) override {
    std::shared_lock lock(mu_);
    auto s = FindLocked(model_name);
    if (!s.ok()) return s.status();
    ModelScheduler& scheduler = **s;
    const auto model = scheduler.model();
    const ModelInfo& info = model->info;
    if (info.task != TaskKind::kArc || info.seq_len != puzzle::kArcSeqLen) {
      return absl::InvalidArgumentError(absl::StrCat("model ", model_name, " is a ",
                                                     TaskKindName(info.task), " model with ",
                                                     info.seq_len, " tokens, not an ARC model"));
    }
    auto grid = puzzle::ArcGridFromCells(request.rows, request.cols, request.cells);
    if (!grid) return absl::InvalidArgumentError(grid.error().message);
    auto rows =
        ExpandArcRequest(model->puzzle_identifiers, request.task_id, *grid, request.augmentations);
    if (!rows.ok()) return rows.status();
    auto halt = HaltPolicy::Create(request.halt, info.halt_max_steps, DefaultThreshold(info));
    if (!halt.ok()) return halt.status();
    std::vector<puzzle::ArcAugmentation> augmentations;
    for (const ArcRow& r : *rows) augmentations.push_back(r.augmentation);
    auto vote = [augmentations = std::move(augmentations),
                 attempts = request.attempts](std::vector<Result> results) {
      std::vector<ArcRowResult> voted(results.size());
      for (size_t i = 0; i < results.size(); ++i) {
        voted[i].augmentation = augmentations[i];
        voted[i].result = std::move(results[i]);
      }
      return VoteArcRows(voted, attempts);
    };
    auto group =
        std::make_shared<RowGroup>(rows->size(), std::move(vote), std::move(request.on_done));
    std::vector<std::shared_ptr<RowRequest>> requests;
    std::vector<std::weak_ptr<RowRequest>> weak;
    for (size_t i = 0; i < rows->size(); ++i) {
      ArcRow& r = (*rows)[i];
      auto row = std::make_shared<RowRequest>();
      row->tokens = std::move(r.tokens);
      row->puzzle_identifier = r.puzzle_identifier;
      row->halt = *halt;
      row->deadline = request.deadline;
      row->request_id = absl::StrCat(request.request_id, "#", i);
      row->on_done = [group, i](Result res) { group->RowDone(i, std::move(res)); };
      weak.push_back(row);
      requests.push_back(std::move(row));
    }
    if (absl::Status st = scheduler.Enqueue(std::move(requests)); !st.ok()) return st;
    return std::make_unique<Handle>(std::move(weak));
  }

  // A request in `views` dihedral orientations, one row each in the same queue admission; view
  // 0 (as given) streams the step events, CombineViews answers.
  absl::StatusOr<std::unique_ptr<RequestHandle>> SubmitViews(ModelScheduler& scheduler,
                                                             const ModelInfo& info, Request request,
                                                             const HaltPolicy& halt, int views) {
    auto side = DihedralGridSide(info);
    if (!side.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("request ", request.request_id, ": ", side.status().message()));
    }
    auto group = std::make_shared<RowGroup>(
        views, [side = *side](std::vector<Result> r) { return CombineViews(std::move(r), side); },
        std::move(request.on_done));
    std::vector<std::shared_ptr<RowRequest>> requests;
    std::vector<std::weak_ptr<RowRequest>> weak;
    for (int k = 0; k < views; ++k) {
      auto row = std::make_shared<RowRequest>();
      row->tokens = ViewTokens(request.tokens, *side, k);
      row->puzzle_identifier = request.puzzle_identifier;
      row->halt = halt;
      row->deadline = request.deadline;
      row->request_id = absl::StrCat(request.request_id, "#view", k);
      if (k == 0) row->on_step = std::move(request.on_step);
      row->on_done = [group, k](Result res) { group->RowDone(k, std::move(res)); };
      weak.push_back(row);
      requests.push_back(std::move(row));
    }
    if (absl::Status st = scheduler.Enqueue(std::move(requests)); !st.ok()) return st;
    return std::make_unique<Handle>(std::move(weak));
  }

  ModelStats Stats(const std::string& model) const override {
    std::shared_lock lock(mu_);
    auto it = models_.find(model);
    if (it == models_.end()) return {};
    return it->second->Stats();
  }

  void SetObserver(EngineObserver* observer) override { observer_.store(observer); }

  void Drain(absl::Duration timeout) override {
    {
      std::unique_lock lock(mu_);
      draining_ = true;
    }
    const absl::Time until = absl::Now() + timeout;
    for (;;) {
      bool idle = true;
      {
        std::shared_lock lock(mu_);
        for (const auto& [name, s] : models_) idle = idle && s->Idle();
      }
      if (idle || absl::Now() >= until) break;
      absl::SleepFor(absl::Milliseconds(5));
    }
    // Whatever is left now is answered UNAVAILABLE by each scheduler as it stops.
    std::shared_lock lock(mu_);
    for (const auto& [name, s] : models_) s->Stop();
  }

 private:
  // Caller holds mu_ (shared or exclusive).
  absl::StatusOr<ModelScheduler*> FindLocked(const std::string& name) const {
    if (draining_) return absl::UnavailableError("engine is draining; not accepting requests");
    auto it = models_.find(name);
    if (it == models_.end())
      return absl::NotFoundError(absl::StrCat("model ", name, " is not loaded"));
    return it->second.get();
  }

  // The threshold a request that names none halts at: the checkpoint's, else the engine's.
  float DefaultThreshold(const ModelInfo& info) const {
    return info.halt_threshold > 0 ? info.halt_threshold
                                   : options_.scheduler.default_halt_threshold;
  }

  // Caller holds mu_ (shared or exclusive).
  ModelInfo InfoLocked(const std::string& name, const ModelScheduler& s) const {
    ModelInfo info = s.model()->info;
    info.halt_threshold = DefaultThreshold(info);
    auto d = defaults_.find(info.task);
    info.is_default = d != defaults_.end() && d->second == name;
    return info;
  }

  const EngineOptions options_;
  const torch::Device device_;
  std::atomic<EngineObserver*> observer_{nullptr};
  // std, not absl, throughout the engine: Debian's absl is not built with ThreadSanitizer, so
  // absl::Mutex's happens-before edges would be invisible to the scheduler's TSan test.
  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<ModelScheduler>> models_;  // Guarded by mu_.
  std::map<TaskKind, std::string> defaults_;                       // Guarded by mu_.
  bool draining_ = false;                                          // Guarded by mu_.
};

}  // namespace

absl::StatusOr<std::unique_ptr<EngineInternal>> CreateEngineInternal(const EngineOptions& options) {
  auto device = ParseDevice(options.device);
  if (!device.ok()) return device.status();
  if (options.num_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("engine: num_threads ", options.num_threads, " is negative"));
  }
  if (options.scheduler.max_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("engine: max_batch_size ", options.scheduler.max_batch_size, " < 1"));
  }
  if (options.scheduler.max_queue_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("engine: max_queue_size ", options.scheduler.max_queue_size, " < 0"));
  }
  if (!(options.scheduler.default_halt_threshold > 0 &&
        options.scheduler.default_halt_threshold <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("engine: default_halt_threshold ",
                                                   options.scheduler.default_halt_threshold,
                                                   " is outside (0, 1]"));
  }
  // Intra-op threads are process-wide in torch; 0 keeps torch's default (the machine's cores).
  if (options.num_threads > 0) torch::set_num_threads(options.num_threads);
  return std::unique_ptr<EngineInternal>(new EngineImpl(options, *device));
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  auto engine = CreateEngineInternal(options);
  if (!engine.ok()) return engine.status();
  return std::unique_ptr<Engine>(std::move(*engine));
}

}  // namespace trm::engine
