// The engine (engine/engine.h, extended by engine_internal.h): the model registry (name ->
// scheduler, one default per task) and request validation.
#include "engine/engine_internal.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "base/sync.h"
#include "engine/arc_expansion.h"
#include "engine/arc_fit.h"
#include "engine/arc_fit_cache.h"
#include "engine/completion_executor.h"
#include "engine/dihedral_views.h"
#include "engine/engine.h"
#include "engine/halt_policy.h"
#include "engine/request_state.h"
#include "engine/scheduler.h"
#include "engine/serving_model.h"
#include "model/device.h"

namespace trm::engine {

namespace {

class EngineImpl : public EngineInternal {
 public:
  EngineImpl(const EngineOptions& options, torch::Device device, model::CpuKernels kernels)
      : options_(options),
        device_(device),
        kernels_(kernels),
        completions_(options.completion_threads),
        fits_(std::max(1, options.arc_fit.threads)) {}
  ~EngineImpl() override {
    std::map<std::string, Model> models;
    {
      WriterLock lock(&mu_);
      draining_ = true;
      models.swap(models_);
    }
    StopFits();
    for (auto& [name, m] : models) m.scheduler->Stop();
    // The schedulers' last answers run before the completion threads join (completions_ is
    // destroyed after this body).
    completions_.WaitIdle();
  }

  absl::Status LoadModel(const std::string& name, const std::string& path,
                         bool make_default) override {
    if (name.empty()) return absl::InvalidArgumentError("model name is empty");
    {
      ReaderLock lock(&mu_);
      if (models_.count(name)) {
        return absl::AlreadyExistsError(
            absl::StrCat("model ", name, " is already loaded; use ReloadModel to replace it"));
      }
    }
    auto model = LoadServingModel(name, path, device_, kernels_);
    if (!model.ok()) return model.status();
    return AddModel(name, *std::move(model), make_default, SchedulerConfig{});
  }

  absl::Status AddModel(const std::string& name, std::shared_ptr<const ServingModel> model,
                        bool make_default, SchedulerConfig config) override {
    config.options = options_.scheduler;
    const TaskKind task = model->info.task;
    // Before the scheduler sees the model: the spare embedding rows change the table's shape.
    if (model->arc_fit == nullptr) model->arc_fit = EnableArcFitting(*model, options_.arc_fit);
    Model entry;
    EngineObserver* observer = observer_.load();
    if (observer != nullptr) entry.observer = observer->ForModel(name);
    entry.scheduler =
        std::make_unique<ModelScheduler>(name, std::move(model), config, &completions_);
    WriterLock lock(&mu_);
    if (draining_) return absl::UnavailableError("engine is draining; no new models");
    if (models_.count(name)) {
      return absl::AlreadyExistsError(absl::StrCat("model ", name, " is already loaded"));
    }
    models_[name] = std::move(entry);
    if (make_default || !defaults_.count(task)) defaults_[task] = name;
    return absl::OkStatus();
  }

  absl::Status ReloadModel(const std::string& name, const std::string& path) override {
    ModelScheduler* scheduler = nullptr;
    TaskKind task;
    {
      ReaderLock lock(&mu_);
      auto it = models_.find(name);
      if (it == models_.end())
        return absl::NotFoundError(absl::StrCat("model ", name, " is not loaded"));
      scheduler = it->second.scheduler.get();
      task = scheduler->model()->info.task;
    }
    auto model = LoadServingModel(name, path, device_, kernels_);
    if (!model.ok()) return model.status();
    if ((*model)->info.task != task) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model ", name, ": checkpoint ", path, " is a ", TaskKindName((*model)->info.task),
          " model, the loaded one serves ", TaskKindName(task)));
    }
    (*model)->arc_fit = EnableArcFitting(**model, options_.arc_fit);  // Fits start afresh.
    ReaderLock lock(&mu_);  // Schedulers live until the engine dies.
    scheduler->ReplaceModel(*std::move(model));
    return absl::OkStatus();
  }

  std::vector<ModelInfo> ListModels() const override {
    ReaderLock lock(&mu_);
    std::vector<ModelInfo> out;
    for (const auto& [name, m] : models_) out.push_back(InfoLocked(name, *m.scheduler));
    return out;
  }

  absl::StatusOr<ModelInfo> GetModel(const std::string& name) const override {
    ReaderLock lock(&mu_);
    auto it = models_.find(name);
    if (it == models_.end()) {
      return absl::NotFoundError(absl::StrCat("model ", name, " is not loaded"));
    }
    return InfoLocked(name, *it->second.scheduler);
  }

  absl::StatusOr<ModelInfo> ResolveModel(const std::string& name, TaskKind task) const override {
    ReaderLock lock(&mu_);
    std::string resolved = name;
    if (resolved.empty()) {
      auto it = defaults_.find(task);
      if (it == defaults_.end()) {
        return absl::NotFoundError(absl::StrCat("no default model for ", TaskKindName(task)));
      }
      resolved = it->second;
    }
    auto it = models_.find(resolved);
    if (it == models_.end()) {
      return absl::NotFoundError(absl::StrCat("model ", resolved, " is not loaded"));
    }
    return InfoLocked(resolved, *it->second.scheduler);
  }

  absl::Status Submit(const std::string& model_name, Request request) override {
    const auto check = [&](const ServingModel& model) -> absl::Status {
      const ModelInfo& info = model.info;
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
      return absl::OkStatus();
    };
    const auto rows = [&](const ServingModel& model, RequestState::Spec& spec) -> absl::Status {
      if (request.dihedral_views < 0 || request.dihedral_views > kMaxDihedralViews) {
        return absl::InvalidArgumentError(absl::StrCat("request ", spec.request_id,
                                                       ": dihedral_views ", request.dihedral_views,
                                                       " is outside 0..", kMaxDihedralViews));
      }
      const int views =
          request.dihedral_views > 0 ? request.dihedral_views : model.info.dihedral_views;
      spec.on_step = std::move(request.on_step);
      if (views == 1) {
        spec.rows.push_back({std::move(request.tokens), request.puzzle_identifier});
        return absl::OkStatus();
      }
      // One row per orientation; view 0 (as given) streams the step events.
      auto side = DihedralGridSide(model.info);
      if (!side.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("request ", spec.request_id, ": ", side.status().message()));
      }
      spec.combine = RequestState::Combine::kViews;
      spec.grid_side = *side;
      for (int k = 0; k < views; ++k) {
        spec.rows.push_back({ViewTokens(request.tokens, *side, k), request.puzzle_identifier});
      }
      return absl::OkStatus();
    };
    return Admit(model_name, request, check, rows);
  }

  absl::Status SubmitArc(const std::string& model_name, ArcRequest request) override {
    bool unseen = false;  // A task the model has no puzzle id for, sent with its pairs.
    absl::Status s = AdmitArc(model_name, request, nullptr, nullptr, &unseen);
    if (!unseen) return s;
    auto target = ArcFitTargetFor(model_name, request);
    if (!target.ok()) return target.status();
    return SubmitArcFit(model_name, std::move(request), *std::move(target));
  }

  ModelStats Stats(const std::string& model) const override {
    ReaderLock lock(&mu_);
    auto it = models_.find(model);
    if (it == models_.end()) return {};
    return it->second.scheduler->Stats();
  }

  void SetObserver(EngineObserver* observer) override { observer_.store(observer); }

  void Drain(absl::Duration timeout) override {
    {
      WriterLock lock(&mu_);
      draining_ = true;
    }
    const absl::Time until = absl::Now() + timeout;
    // A fit takes seconds to minutes: its waiting requests are answered UNAVAILABLE now rather
    // than outlasting the drain.
    StopFits();
    // Schedulers live until the engine dies; draining_ keeps new ones out.
    std::vector<ModelScheduler*> schedulers;
    {
      ReaderLock lock(&mu_);
      for (const auto& [name, m] : models_) schedulers.push_back(m.scheduler.get());
    }
    for (ModelScheduler* s : schedulers) s->WaitIdle(until);
    // Whatever is left now is answered UNAVAILABLE by each scheduler as it stops.
    for (ModelScheduler* s : schedulers) s->Stop();
    completions_.WaitIdle();
  }

 private:
  struct Model {
    std::unique_ptr<ModelScheduler> scheduler;
    std::shared_ptr<ModelObserver> observer;  // May be null.
  };

  absl::StatusOr<const Model*> FindLocked(const std::string& name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    if (draining_) return absl::UnavailableError("engine is draining; not accepting requests");
    auto it = models_.find(name);
    if (it == models_.end())
      return absl::NotFoundError(absl::StrCat("model ", name, " is not loaded"));
    return &it->second;
  }

  // Submit and SubmitArc: finds the model (NOT_FOUND; UNAVAILABLE while draining), runs the
  // kind's own checks of the request, makes what every request has (its halting checked against
  // the model, id, deadline, cancel token, client, done callback), lets the kind add its rows,
  // and queues it. On an error the request and its callbacks are dropped before Submit returns.
  template <typename R>
  absl::Status Admit(
      const std::string& model_name, R& request,
      absl::FunctionRef<absl::Status(const ServingModel&)> check,
      absl::FunctionRef<absl::Status(const ServingModel&, RequestState::Spec&)> rows) {
    ReaderLock lock(&mu_);
    auto found = FindLocked(model_name);
    if (!found.ok()) return found.status();
    const Model& m = **found;
    const auto model = m.scheduler->model();
    if (absl::Status s = check(*model); !s.ok()) return s;
    auto halt =
        HaltPolicy::Create(request.halt, model->info.halt_max_steps, DefaultThreshold(model->info));
    if (!halt.ok()) return halt.status();
    RequestState::Spec spec = BaseSpec(model_name, m, std::move(request.request_id), *halt,
                                       request.deadline, std::move(request.cancel));
    spec.client = std::move(request.client);
    spec.on_done = std::move(request.on_done);
    if (absl::Status s = rows(*model, spec); !s.ok()) return s;
    return Enqueue(*m.scheduler, std::move(spec));
  }

  // ARC: a task the model has puzzle ids for runs on them (AdmitArc); one it has none for, sent
  // with its demonstration pairs, is fitted first (ArcFitTargetFor, then SubmitArcFit).
  struct ArcFitTarget {
    std::shared_ptr<ArcFitState> state;
    std::shared_ptr<const ServingModel> model;
    std::shared_ptr<ModelObserver> observer;  // May be null.
    std::string key;                          // ArcFitKey of the pairs.
  };

  // The model's fitting state for `request`, whose pairs are checked here.
  absl::StatusOr<ArcFitTarget> ArcFitTargetFor(const std::string& model_name,
                                               const ArcRequest& request) const {
    for (size_t i = 0; i < request.train.size(); ++i) {
      const puzzle::ArcExample& pair = request.train[i];
      if (!pair.output) {
        return absl::InvalidArgumentError(
            absl::StrCat("arc task \"", request.task_id, "\": train[", i, "] has no output"));
      }
      for (const auto& [grid, field] :
           {std::pair{&pair.input, "input"}, std::pair{&*pair.output, "output"}}) {
        if (auto ok = puzzle::ValidateArcGrid(*grid); !ok) {
          return absl::InvalidArgumentError(absl::StrCat("arc task \"", request.task_id,
                                                         "\": train[", i, "].", field, ": ",
                                                         ok.error().message));
        }
      }
    }
    ReaderLock lock(&mu_);
    auto found = FindLocked(model_name);
    if (!found.ok()) return found.status();
    auto model = (*found)->scheduler->model();
    if (model->arc_fit == nullptr) {  // Reloaded since AdmitArc, with a model that cannot fit.
      return absl::UnavailableError(absl::StrCat("model ", model_name, " was reloaded; retry"));
    }
    return ArcFitTarget{model->arc_fit, model, (*found)->observer, ArcFitKey(request.train)};
  }

  // A task to fit: answered at once from the cache, after the fit already running for the same
  // pairs, or after a fit started here on the fit threads. Errors found before that (a full
  // cache, a bad grid) are returned; later ones reach on_done.
  absl::Status SubmitArcFit(const std::string& model_name, ArcRequest request,
                            ArcFitTarget target) {
    auto held = std::make_shared<ArcRequest>(std::move(request));
    // Admit drops the request's callback when it refuses it; after a fit the request has been
    // accepted already, so the callback is kept here to answer it with the refusal.
    auto on_done = std::make_shared<std::function<void(Result)>>(std::move(held->on_done));
    held->on_done = [on_done](Result result) {
      if (*on_done) (*on_done)(std::move(result));
    };
    ArcFitCache::Waiter waiter = [this, model_name, held, on_done,
                                  target](absl::StatusOr<ArcFitted> fitted) {
      absl::Status s =
          fitted.ok() ? AdmitArc(model_name, *held, &*fitted, &target) : fitted.status();
      if (s.ok()) return;
      if (fitted.ok()) target.state->cache.Release(target.key);
      // On a completion thread, as every answer is.
      Result result;
      result.status = std::move(s);
      result.model = model_name;
      completions_.Post(next_sequence_.fetch_add(1, std::memory_order_relaxed),
                        [on_done, result = std::move(result)]() mutable {
                          if (*on_done) (*on_done)(std::move(result));
                        });
    };
    auto lookup = target.state->cache.Acquire(target.key, waiter);
    if (!lookup.ok()) return lookup.status();
    if (lookup->ready) {
      if (target.observer) target.observer->OnArcFit({.cache_hit = true});
      absl::Status s = AdmitArc(model_name, *held, &*lookup->ready, &target);
      if (!s.ok()) target.state->cache.Release(target.key);
      return s;
    }
    if (!lookup->fit_rows) return absl::OkStatus();  // Queued behind the fit already running.
    auto variants = ArcFitVariants(target.key, target.state->cache.rows_per_task());
    fits_.Post(fit_sequence_.fetch_add(1, std::memory_order_relaxed),
               [this, target, train = held->train, variants = std::move(variants),
                rows = *std::move(lookup->fit_rows)]() {
                 absl::StatusOr<ArcFitted> fitted =
                     stop_fits_.load()
                         ? absl::UnavailableError("engine is stopping; the ARC fit did not run")
                         : FitArcTask(*target.model, *target.state, train, variants, rows,
                                      options_.arc_fit, ArcFitSeed(target.key), &stop_fits_);
                 if (target.observer) {
                   ModelObserver::ArcFitEvent event;
                   event.ok = fitted.ok();
                   event.seconds = fitted.ok() ? fitted->info.fit_ms / 1e3 : 0;
                   target.observer->OnArcFit(event);
                 }
                 target.state->cache.Complete(target.key, std::move(fitted));
               });
    return absl::OkStatus();
  }

  // An ARC request on the checkpoint's puzzle ids for its task or, given `fitted`, on the rows
  // fitted for it (whose pin on the cache entry its answer releases). A task the checkpoint has no
  // id for, sent with pairs to a model that fits, sets *unseen (and is left to SubmitArcFit).
  absl::Status AdmitArc(const std::string& model_name, ArcRequest& request, const ArcFitted* fitted,
                        const ArcFitTarget* target, bool* unseen = nullptr) {
    std::vector<ArcRow> arc_rows;
    const auto check = [&](const ServingModel& model) -> absl::Status {
      const ModelInfo& info = model.info;
      if (info.task != TaskKind::kArc || info.seq_len != puzzle::kArcSeqLen) {
        return absl::InvalidArgumentError(absl::StrCat("model ", model_name, " is a ",
                                                       TaskKindName(info.task), " model with ",
                                                       info.seq_len, " tokens, not an ARC model"));
      }
      auto grid = puzzle::ArcGridFromCells(request.rows, request.cols, request.cells);
      if (!grid) return absl::InvalidArgumentError(grid.error().message);
      if (fitted != nullptr && &model != target->model.get()) {
        return absl::UnavailableError(
            absl::StrCat("model ", model_name, " was reloaded while the task's fit ran; retry"));
      }
      auto expanded =
          fitted != nullptr
              ? ExpandFittedArcRequest(fitted->variants, fitted->rows, *grid, request.augmentations)
              : ExpandArcRequest(model.puzzle_identifiers, request.task_id, *grid,
                                 request.augmentations);
      if (absl::IsNotFound(expanded.status()) && model.arc_fit != nullptr) {
        if (!request.train.empty() && unseen != nullptr) {
          *unseen = true;
          return expanded.status();
        }
        return absl::NotFoundError(
            absl::StrCat(expanded.status().message(),
                         "; send the task's train pairs (arc.train) to have it fitted"));
      }
      if (!expanded.ok()) return expanded.status();
      arc_rows = *std::move(expanded);
      return absl::OkStatus();
    };
    const auto rows = [&](const ServingModel&, RequestState::Spec& spec) -> absl::Status {
      spec.combine = RequestState::Combine::kArc;
      spec.arc_attempts = request.attempts;
      for (ArcRow& r : arc_rows) {
        spec.augmentations.push_back(r.augmentation);
        spec.rows.push_back({std::move(r.tokens), r.puzzle_identifier});
      }
      if (fitted != nullptr) {
        spec.on_done = [on_done = std::move(spec.on_done), info = fitted->info,
                        state = target->state, key = target->key](Result result) {
          state->cache.Release(key);
          result.arc_fit = info;
          if (on_done) on_done(std::move(result));
        };
      }
      return absl::OkStatus();
    };
    return Admit(model_name, request, check, rows);
  }

  // Fits stop at their next batch; the requests waiting on them are answered UNAVAILABLE.
  void StopFits() {
    stop_fits_.store(true);
    fits_.WaitIdle();
  }

  // What every request has whatever its rows: a cancel token (the caller's, or one of ours).
  static RequestState::Spec BaseSpec(const std::string& model_name, const Model& m,
                                     std::string request_id, const HaltPolicy& halt,
                                     absl::Time deadline, std::shared_ptr<CancelToken> cancel) {
    RequestState::Spec spec;
    spec.model = model_name;
    spec.request_id = std::move(request_id);
    spec.halt = halt;
    spec.deadline = deadline;
    spec.cancel = cancel ? std::move(cancel) : std::make_shared<CancelToken>();
    spec.observer = m.observer;
    return spec;
  }

  absl::Status Enqueue(ModelScheduler& scheduler, RequestState::Spec spec) {
    auto state = std::make_shared<RequestState>(
        std::move(spec), next_sequence_.fetch_add(1, std::memory_order_relaxed), absl::Now());
    return scheduler.Enqueue(std::move(state));
  }

  // The threshold a request that names none halts at: the checkpoint's, else the engine's.
  float DefaultThreshold(const ModelInfo& info) const {
    return info.halt_threshold > 0 ? info.halt_threshold
                                   : options_.scheduler.default_halt_threshold;
  }

  ModelInfo InfoLocked(const std::string& name, const ModelScheduler& s) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    ModelInfo info = s.model()->info;
    info.halt_threshold = DefaultThreshold(info);
    auto d = defaults_.find(info.task);
    info.is_default = d != defaults_.end() && d->second == name;
    return info;
  }

  const EngineOptions options_;
  const torch::Device device_;
  const model::CpuKernels kernels_;
  // Declared before the models: destroyed after them, so their last answers can still run.
  CompletionExecutor completions_;
  // ARC fits (SubmitArcFit): their own threads, so no step loop waits for one.
  std::atomic<bool> stop_fits_{false};
  CompletionExecutor fits_;
  std::atomic<EngineObserver*> observer_{nullptr};
  std::atomic<uint64_t> next_sequence_{1};
  std::atomic<uint64_t> fit_sequence_{0};
  mutable SharedMutex mu_;
  std::map<std::string, Model> models_ ABSL_GUARDED_BY(mu_);
  std::map<TaskKind, std::string> defaults_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EngineInternal>> CreateEngineInternal(const EngineOptions& options) {
  auto device = model::ParseDevice(options.device);
  if (!device.ok()) return device.status();
  auto kernels = model::ParseCpuKernels(options.cpu_kernels);
  if (!kernels.ok())
    return absl::InvalidArgumentError(absl::StrCat("engine: ", kernels.status().message()));
  if (device->is_cpu()) {
    if (absl::Status s = model::CheckCpuKernels(*kernels); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("engine: ", s.message()));
    }
  }
  if (options.num_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("engine: num_threads ", options.num_threads, " is negative"));
  }
  if (options.completion_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("engine: completion_threads ", options.completion_threads, " < 1"));
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
  return std::unique_ptr<EngineInternal>(new EngineImpl(options, *device, *kernels));
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  auto engine = CreateEngineInternal(options);
  if (!engine.ok()) return engine.status();
  return std::unique_ptr<Engine>(std::move(*engine));
}

}  // namespace trm::engine
