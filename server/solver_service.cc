#include "server/solver_service.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/metadata_limit.h"
#include "server/step_queue.h"

namespace trm::server {
namespace {

using trm::v1::SolveRequest;
using trm::v1::SolveResponse;
using trm::v1::SolveStep;

double SecondsSince(absl::Time start) { return absl::ToDoubleSeconds(absl::Now() - start); }

// gRPC's deadline as absl::Time; "no deadline" is time_point::max(), which would overflow.
absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  const auto now = std::chrono::system_clock::now();
  if (deadline >= now + std::chrono::hours(24 * 365)) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

// Solve: one engine request, answered from on_done. The reactor holds three references: gRPC's
// (until OnDone), the engine's (until on_done, or a failed Submit) and the constructor's (so an
// engine that answers before the constructor returns cannot delete it under our feet).
class SolveReactor final : public grpc::ServerUnaryReactor {
 public:
  SolveReactor(SolverService* service, grpc::CallbackServerContext* context,
               const SolveRequest* request, SolveResponse* response)
      : service_(service), response_(response), start_(absl::Now()) {
    auto prepared = service_->Prepare(*context, *request, &model_label_);
    if (!prepared.ok()) {
      FinishWithoutEngine(ToGrpcStatus(prepared.status()));
      return;
    }
    prepared_ = std::move(*prepared);
    auto handle = service_->Submit(*prepared_, nullptr,
                                   [this](engine::Result result) { OnEngineDone(result); });
    if (!handle.ok()) {
      FinishWithoutEngine(ToGrpcStatus(handle.status()));
      return;
    }
    {
      std::lock_guard lock(mu_);
      handle_ = std::move(*handle);
      if (cancelled_) handle_->Cancel();
    }
    Unref();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (handle_) handle_->Cancel();
  }

  void OnDone() override { Unref(); }

 private:
  // The engine will never call back: drop its reference and the constructor's.
  void FinishWithoutEngine(const grpc::Status& status) {
    refs_.fetch_sub(2);  // gRPC still holds one until OnDone, so this never reaches zero.
    Record(status);
    Finish(status);
  }

  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void OnEngineDone(const engine::Result& result) {
    grpc::Status status = service_->FillResponse(*prepared_, result, response_);
    Record(status);
    Finish(status);
    Unref();
  }

  void Record(const grpc::Status& status) {
    service_->metrics()->RecordRequest("Solve", model_label_, GrpcCodeName(status.error_code()),
                                       SecondsSince(start_));
  }

  SolverService* service_;
  SolveResponse* response_;
  absl::Time start_;
  std::string model_label_;
  std::optional<SolverService::Prepared> prepared_;
  std::mutex mu_;
  std::unique_ptr<engine::RequestHandle> handle_;
  bool cancelled_ = false;
  std::atomic<int> refs_{3};
};

// SolveSteps: step events arrive on the scheduler thread and are queued here (a StepQueue: a
// slow reader gets the latest steps); exactly one write is in flight at a time (OnWriteDone
// starts the next), and Finish comes after the last queued write. The engine's final step event
// is held back until on_done, so the final message carries the full result. A client that takes
// no message for the stall timeout is cancelled by the service's StallWatcher (CheckStall).
class StepsReactor final : public grpc::ServerWriteReactor<SolveStep> {
 public:
  StepsReactor(SolverService* service, grpc::CallbackServerContext* context,
               const SolveRequest* request)
      : service_(service),
        context_(context),
        start_(absl::Now()),
        queue_(service->options().stream_queue_steps) {
    auto prepared = service_->Prepare(*context, *request, &model_label_);
    if (!prepared.ok()) {
      FinishWithoutEngine(ToGrpcStatus(prepared.status()));
      return;
    }
    prepared_ = std::move(*prepared);
    auto handle = service_->Submit(
        *prepared_, [this](const engine::StepEvent& event) { OnStep(event); },
        [this](engine::Result result) { OnEngineDone(result); });
    if (!handle.ok()) {
      FinishWithoutEngine(ToGrpcStatus(handle.status()));
      return;
    }
    {
      std::lock_guard lock(mu_);
      handle_ = std::move(*handle);
      if (cancelled_) handle_->Cancel();
    }
    if (StallWatcher* watcher = service_->stall_watcher()) {
      refs_.fetch_add(1);  // The watcher's, dropped by CheckStall once the stream is finished.
      watcher->Watch([this](bool stopping) { return CheckStall(stopping); });
    }
    Unref();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (handle_) handle_->Cancel();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    queue_.WriteDone();
    if (!ok) {
      // The stream is broken (client gone): stop the engine work and drop what is queued.
      broken_ = true;
      queue_.DropWaiting();
      if (handle_) handle_->Cancel();
    }
    NextWrite();
  }

  void OnDone() override { Unref(); }

 private:
  void FinishWithoutEngine(const grpc::Status& status) {
    {
      std::lock_guard lock(mu_);
      engine_done_ = true;
      finished_ = true;
    }
    refs_.fetch_sub(2);  // As SolveReactor: gRPC's reference keeps it alive until OnDone.
    Record(status);
    Finish(status);
  }

  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // On the StallWatcher's thread. Finish is held back while TryCancel runs (cancelling_), so
  // the context outlives the call: OnDone, after which gRPC frees it, only comes after Finish.
  bool CheckStall(bool stopping) {
    enum { kKeep, kForget, kCancel } action = kKeep;
    {
      std::lock_guard lock(mu_);
      if (finished_ || stopping) {
        action = kForget;
      } else if (!stalled_ &&
                 queue_.WriteWaiting(absl::Now()) >= service_->options().stream_stall_timeout) {
        action = kCancel;
        cancelling_ = stalled_ = true;
      }
    }
    if (action == kKeep) return true;
    if (action == kForget) {
      Unref();
      return false;
    }
    service_->metrics()->RecordStalledStream();
    context_->TryCancel();  // OnCancel and OnWriteDone(false) may run inline here.
    std::lock_guard lock(mu_);
    cancelling_ = false;
    NextWrite();
    return true;
  }

  void OnStep(const engine::StepEvent& event) {
    if (event.final) return;  // Sent with the result from OnEngineDone.
    SolveStep step;
    step.set_step(event.step);
    DecodeAnswer(prepared_->puzzle, event.answer_tokens, step.mutable_answer());
    step.set_confidence(event.confidence);
    step.mutable_changed_cells()->Assign(event.changed_cells.begin(), event.changed_cells.end());
    last_tokens_ = event.answer_tokens;
    std::lock_guard lock(mu_);
    if (broken_ || cancelled_) return;
    queue_.Push(std::move(step));
    NextWrite();
  }

  void OnEngineDone(const engine::Result& result) {
    SolveStep step;
    grpc::Status status = service_->FillResponse(*prepared_, result, step.mutable_result());
    if (status.ok()) {
      step.set_step(result.steps);
      *step.mutable_answer() = step.result().answer();
      step.set_confidence(result.confidence);
      step.set_final(true);
      if (last_tokens_.size() == result.answer_tokens.size()) {
        for (size_t i = 0; i < last_tokens_.size(); ++i) {
          if (last_tokens_[i] != result.answer_tokens[i]) step.add_changed_cells(i);
        }
      }
    }
    Record(status);
    {
      std::lock_guard lock(mu_);
      if (status.ok() && !broken_) queue_.Push(std::move(step));
      finish_status_ = status;
      engine_done_ = true;
      NextWrite();
    }
    Unref();
  }

  // Starts the next write, or finishes once the engine is done and the queue is empty.
  void NextWrite() /* requires mu_ */ {
    if (queue_.writing() || finished_ || cancelling_) return;
    if (const SolveStep* next = queue_.StartWrite(absl::Now())) {
      StartWrite(next);
    } else if (engine_done_) {
      finished_ = true;
      if (queue_.merged() > 0) service_->metrics()->RecordMergedSteps(queue_.merged());
      Finish(broken_ ? grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client")
                     : finish_status_);
    }
  }

  void Record(const grpc::Status& status) {
    service_->metrics()->RecordRequest("SolveSteps", model_label_,
                                       GrpcCodeName(status.error_code()), SecondsSince(start_));
  }

  SolverService* service_;
  grpc::CallbackServerContext* context_;
  absl::Time start_;
  std::string model_label_;
  std::optional<SolverService::Prepared> prepared_;
  std::vector<int32_t> last_tokens_;  // Scheduler thread only.
  std::mutex mu_;
  std::unique_ptr<engine::RequestHandle> handle_;
  StepQueue queue_;
  grpc::Status finish_status_;
  bool finished_ = false, broken_ = false, cancelling_ = false, stalled_ = false;
  bool cancelled_ = false, engine_done_ = false;
  // gRPC's, the engine's and the constructor's, as SolveReactor; plus the StallWatcher's.
  std::atomic<int> refs_{3};
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::string GrpcCodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

void ToProtoModelInfo(const engine::ModelInfo& info, trm::v1::ModelInfo* out) {
  out->set_name(info.name);
  out->set_version(info.version);
  out->set_task(engine::TaskKindName(info.task));
  out->set_seq_len(info.seq_len);
  out->set_vocab_size(info.vocab_size);
  out->set_halt_max_steps(info.halt_max_steps);
  out->set_device(info.device);
  out->set_parameters(info.parameters);
  out->set_is_default(info.is_default);
  out->set_num_puzzle_identifiers(info.num_puzzle_identifiers);
  out->set_maze_side(info.maze_side);
  out->set_halt_threshold(info.halt_threshold);
  out->set_dihedral_views(info.dihedral_views);
}

SolverService::SolverService(engine::Engine* engine, Metrics* metrics, SolverServiceOptions options)
    : engine_(engine), metrics_(metrics), options_(options) {
  if (options_.stream_stall_timeout > absl::ZeroDuration()) {
    // Streams are looked at a few times per timeout: one is cancelled at most a quarter of the
    // timeout (and at most a second) after the timeout has passed.
    stall_watcher_ = std::make_unique<StallWatcher>(
        std::clamp(options_.stream_stall_timeout / 4, absl::Milliseconds(10), absl::Seconds(1)));
  }
}

void SolverService::SetAccepting(bool accepting, std::string reason) {
  {
    absl::MutexLock lock(&reason_mu_);
    not_accepting_reason_ = std::move(reason);
  }
  accepting_.store(accepting);
}

absl::StatusOr<SolverService::Prepared> SolverService::Prepare(
    const grpc::CallbackServerContext& context, const SolveRequest& request,
    std::string* model_label) {
  // The `model` label names a loaded model or is empty: a name from the request that resolves to
  // nothing is request content, and as a label it would also grow the registry without bound.
  model_label->clear();
  if (!accepting_.load()) {
    absl::MutexLock lock(&reason_mu_);
    return absl::UnavailableError(not_accepting_reason_);
  }
  // Before anything else reads them; an over-long model name is also never echoed (it would
  // overflow the client's metadata limit and turn the answer into RESOURCE_EXHAUSTED).
  if (absl::Status s = CheckMetadataSize(context, options_.max_metadata_bytes); !s.ok()) return s;
  if (absl::Status s = CheckStringLimits(request); !s.ok()) return s;
  absl::StatusOr<engine::TaskKind> kind = RequestKind(request);
  if (!kind.ok()) return kind.status();
  if (*kind == engine::TaskKind::kTokens && request.model().empty()) {
    return absl::InvalidArgumentError("request: raw tokens need an explicit model");
  }
  absl::StatusOr<engine::ModelInfo> model = engine_->ResolveModel(request.model(), *kind);
  if (!model.ok()) {
    if (absl::IsNotFound(model.status()) && request.model().empty()) {
      return absl::NotFoundError(
          absl::StrCat("no model serves ", engine::TaskKindName(*kind), " puzzles"));
    }
    return model.status();
  }
  *model_label = model->name;
  Prepared p;
  p.model = *model;
  absl::StatusOr<EncodedPuzzle> puzzle = EncodePuzzle(request, p.model);
  if (!puzzle.ok()) return puzzle.status();
  p.puzzle = std::move(*puzzle);
  absl::StatusOr<engine::HaltOptions> halt =
      ToHaltOptions(request.options(), p.model, options_.halt);
  if (!halt.ok()) return halt.status();
  p.halt = *halt;
  if (absl::Status s = CheckViewOptions(request.options(), *kind); !s.ok()) return s;
  if (*kind == engine::TaskKind::kArc) {
    if (absl::Status s = CheckArcOptions(request.options()); !s.ok()) return s;
  }
  p.options = request.options();
  p.request_id = request.request_id().empty() ? absl::StrCat("trm-", next_request_id_.fetch_add(1))
                                              : request.request_id();
  p.deadline = DeadlineOf(context);
  return p;
}

absl::StatusOr<std::unique_ptr<engine::RequestHandle>> SolverService::Submit(
    const Prepared& prepared, std::function<void(const engine::StepEvent&)> on_step,
    std::function<void(engine::Result)> on_done) {
  if (prepared.puzzle.kind == engine::TaskKind::kArc) {
    engine::ArcRequest request;
    request.task_id = prepared.puzzle.arc_task_id;
    request.rows = prepared.puzzle.arc_input.rows;
    request.cols = prepared.puzzle.arc_input.cols;
    request.cells.assign(prepared.puzzle.arc_input.cells.begin(),
                         prepared.puzzle.arc_input.cells.end());
    request.augmentations = prepared.options.arc_augmentations();
    request.attempts = prepared.options.arc_attempts();
    request.halt = prepared.halt;
    request.deadline = prepared.deadline;
    request.request_id = prepared.request_id;
    request.on_done = std::move(on_done);
    return engine_->SubmitArc(prepared.model.name, std::move(request));
  }
  engine::Request request;
  request.tokens = prepared.puzzle.tokens;
  request.puzzle_identifier = prepared.puzzle.puzzle_identifier;
  request.halt = prepared.halt;
  request.deadline = prepared.deadline;
  request.request_id = prepared.request_id;
  request.dihedral_views = prepared.options.dihedral_views();
  request.on_step = std::move(on_step);
  request.on_done = std::move(on_done);
  return engine_->Submit(prepared.model.name, std::move(request));
}

grpc::Status SolverService::FillResponse(const Prepared& prepared, const engine::Result& result,
                                         SolveResponse* response) {
  if (!result.status.ok()) return ToGrpcStatus(result.status);
  response->set_request_id(prepared.request_id);
  response->set_model(result.model.empty() ? prepared.model.name : result.model);
  response->set_model_version(result.model_version);
  response->set_steps(result.steps);
  response->set_confidence(result.confidence);
  response->set_halt_reason(ToProtoHaltReason(result.halt_reason));
  response->mutable_timing()->set_queue_ms(result.timing.queue_ms);
  response->mutable_timing()->set_compute_ms(result.timing.compute_ms);
  response->mutable_timing()->set_total_ms(result.timing.total_ms);
  response->set_source(trm::v1::ANSWER_SOURCE_MODEL);
  if (prepared.puzzle.kind == engine::TaskKind::kArc) {
    for (const auto& attempt : result.arc_attempts) {
      auto* a = response->add_arc_attempts();
      ToProtoGrid(attempt.rows, attempt.cols, attempt.cells, a->mutable_grid());
      a->set_votes(attempt.votes);
      a->set_confidence(attempt.confidence);
    }
    if (!response->arc_attempts().empty()) {
      *response->mutable_answer()->mutable_grid() = response->arc_attempts(0).grid();
    }
    // The server has no ARC solutions; the caller checks attempts against its own.
    response->set_verification(trm::v1::VERIFICATION_NOT_CHECKABLE);
  } else {
    DecodeAnswer(prepared.puzzle, result.answer_tokens, response->mutable_answer());
    Checked checked = VerifyAnswer(prepared.puzzle, result.answer_tokens);
    response->set_verification(checked.verification);
    response->set_verification_detail(checked.detail);
    // The exact solvers take microseconds to a few milliseconds on 9x9 / 30x30, so running them
    // here, on the engine's callback, costs less than handing off to another thread.
    if (checked.verification == trm::v1::VERIFICATION_INVALID &&
        prepared.options.exact_fallback() &&
        ExactAnswer(prepared.puzzle, response->mutable_answer())) {
      response->set_source(trm::v1::ANSWER_SOURCE_EXACT_SOLVER);
      response->set_verification(trm::v1::VERIFICATION_VERIFIED);
    }
  }
  metrics_->RecordAnswer(
      response->model(), VerificationLabel(response->verification()),
      response->source() == trm::v1::ANSWER_SOURCE_EXACT_SOLVER ? "exact_solver" : "model");
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* SolverService::Solve(grpc::CallbackServerContext* context,
                                               const SolveRequest* request,
                                               SolveResponse* response) {
  return new SolveReactor(this, context, request, response);
}

grpc::ServerWriteReactor<SolveStep>* SolverService::SolveSteps(grpc::CallbackServerContext* context,
                                                               const SolveRequest* request) {
  return new StepsReactor(this, context, request);
}

grpc::ServerUnaryReactor* SolverService::ListModels(grpc::CallbackServerContext* context,
                                                    const trm::v1::ListModelsRequest* /*request*/,
                                                    trm::v1::ListModelsResponse* response) {
  const absl::Time start = absl::Now();
  auto* reactor = context->DefaultReactor();
  if (absl::Status s = CheckMetadataSize(*context, options_.max_metadata_bytes); !s.ok()) {
    metrics_->RecordRequest("ListModels", "", GrpcCodeName(ToGrpcStatus(s).error_code()),
                            SecondsSince(start));
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  for (const auto& info : engine_->ListModels()) ToProtoModelInfo(info, response->add_models());
  metrics_->RecordRequest("ListModels", "", "OK", SecondsSince(start));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace trm::server
