#include "server/solve_call.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/grpc_status.h"

namespace trm::server {

using trm::v1::SolveRequest;
using trm::v1::SolveResponse;
using trm::v1::SolveStep;

SolveCall::SolveCall(SolveContext* context, std::string method)
    : context_(context), method_(std::move(method)), start_(absl::Now()) {}

void SolveCall::Start(const SolveRequest& request, absl::Time deadline, StepHandler on_step,
                      DoneHandler on_done, const absl::Status& admitted) {
  streaming_ = static_cast<bool>(on_step);
  absl::StatusOr<Prepared> prepared = Prepare(request, deadline, admitted);
  absl::Status submitted =
      prepared.ok() ? (prepared_ = *std::move(prepared), Submit(std::move(on_step), on_done))
                    : prepared.status();
  if (!submitted.ok()) {
    // The engine never holds the request: answer here, once.
    const grpc::Status status = ToGrpcStatus(submitted);
    Record(status);
    on_done(status, SolveResponse());
  }
}

absl::StatusOr<SolveCall::Prepared> SolveCall::Prepare(const SolveRequest& request,
                                                       absl::Time deadline,
                                                       const absl::Status& admitted) {
  // The `model` label names a loaded model or is empty: a name from the request that resolves to
  // nothing is request content, and as a label it would also grow the registry without bound.
  model_label_.clear();
  if (absl::Status accepting = context_->CheckAccepting(); !accepting.ok()) return accepting;
  if (!admitted.ok()) return admitted;
  // Before anything else reads them; an over-long model name is also never echoed (it would
  // overflow the client's metadata limit and turn the answer into RESOURCE_EXHAUSTED).
  if (absl::Status s = CheckStringLimits(request); !s.ok()) return s;
  absl::StatusOr<engine::TaskKind> kind = RequestKind(request);
  if (!kind.ok()) return kind.status();
  if (*kind == engine::TaskKind::kTokens && request.model().empty()) {
    return absl::InvalidArgumentError("request: raw tokens need an explicit model");
  }
  absl::StatusOr<engine::ModelInfo> model =
      context_->engine()->ResolveModel(request.model(), *kind);
  if (!model.ok()) {
    if (absl::IsNotFound(model.status()) && request.model().empty()) {
      return absl::NotFoundError(
          absl::StrCat("no model serves ", engine::TaskKindName(*kind), " puzzles"));
    }
    return model.status();
  }
  model_label_ = model->name;
  Prepared p;
  p.model = *model;
  absl::StatusOr<EncodedPuzzle> puzzle = EncodePuzzle(request, p.model);
  if (!puzzle.ok()) return puzzle.status();
  p.puzzle = std::move(*puzzle);
  absl::StatusOr<engine::HaltOptions> halt =
      ToHaltOptions(request.options(), p.model, context_->halt());
  if (!halt.ok()) return halt.status();
  p.halt = *halt;
  if (absl::Status s = CheckViewOptions(request.options(), *kind); !s.ok()) return s;
  if (*kind == engine::TaskKind::kArc) {
    if (absl::Status s = CheckArcOptions(request.options()); !s.ok()) return s;
  }
  p.options = request.options();
  p.request_id = request.request_id().empty() ? context_->NextRequestId() : request.request_id();
  p.deadline = deadline;
  return p;
}

absl::Status SolveCall::Submit(StepHandler on_step, DoneHandler on_done) {
  // The engine calls back on a completion thread; the handlers are moved into its callbacks and
  // released with them once the call is done.
  auto done = [this, on_done = std::move(on_done)](engine::Result result) {
    OnEngineDone(result, on_done);
  };
  if (prepared_.puzzle.kind == engine::TaskKind::kArc) {
    engine::ArcRequest request;
    request.task_id = prepared_.puzzle.arc_task_id;
    request.rows = prepared_.puzzle.arc_input.rows;
    request.cols = prepared_.puzzle.arc_input.cols;
    request.cells.assign(prepared_.puzzle.arc_input.cells.begin(),
                         prepared_.puzzle.arc_input.cells.end());
    request.train = prepared_.puzzle.arc_train;
    request.augmentations = prepared_.options.arc_augmentations();
    request.attempts = prepared_.options.arc_attempts();
    request.halt = prepared_.halt;
    request.deadline = prepared_.deadline;
    request.request_id = prepared_.request_id;
    request.client = client_;
    request.cancel = cancel_;
    request.on_done = std::move(done);
    return context_->engine()->SubmitArc(prepared_.model.name, std::move(request));
  }
  engine::Request request;
  request.tokens = prepared_.puzzle.tokens;
  request.puzzle_identifier = prepared_.puzzle.puzzle_identifier;
  request.halt = prepared_.halt;
  request.deadline = prepared_.deadline;
  request.request_id = prepared_.request_id;
  request.dihedral_views = prepared_.options.dihedral_views();
  request.client = client_;
  request.cancel = cancel_;
  if (on_step) {
    request.on_step = [this, on_step = std::move(on_step)](const engine::StepEvent& event) {
      OnEngineStep(event, on_step);
    };
  }
  request.on_done = std::move(done);
  return context_->engine()->Submit(prepared_.model.name, std::move(request));
}

void SolveCall::OnEngineStep(const engine::StepEvent& event, const StepHandler& on_step) {
  if (event.final) return;  // The final step is built from the response (FinalStep).
  SolveStep step;
  step.set_step(event.step);
  DecodeAnswer(prepared_.puzzle, event.answer_tokens, step.mutable_answer());
  step.set_confidence(event.confidence);
  step.mutable_changed_cells()->Assign(event.changed_cells.begin(), event.changed_cells.end());
  last_tokens_ = event.answer_tokens;
  on_step(std::move(step));
}

void SolveCall::OnEngineDone(const engine::Result& result, const DoneHandler& on_done) {
  SolveResponse response;
  const grpc::Status status = FillResponse(result, &response);
  if (status.ok()) {
    // For FinalStep's changed cells: the answer as tokens, against the last step sent.
    std::vector<int32_t> answer = result.answer_tokens;
    if (last_tokens_.size() == answer.size()) {
      final_changed_.clear();
      for (size_t i = 0; i < answer.size(); ++i) {
        if (last_tokens_[i] != answer[i]) final_changed_.push_back(static_cast<int32_t>(i));
      }
    }
  }
  if (!streaming_) Record(status);
  on_done(status, std::move(response));
}

SolveStep SolveCall::FinalStep(SolveResponse response) const {
  SolveStep step;
  step.set_step(response.steps());
  *step.mutable_answer() = response.answer();
  step.set_confidence(response.confidence());
  step.set_final(true);
  step.mutable_changed_cells()->Assign(final_changed_.begin(), final_changed_.end());
  *step.mutable_result() = std::move(response);
  return step;
}

grpc::Status SolveCall::FillResponse(const engine::Result& result, SolveResponse* response) {
  if (!result.status.ok()) return ToGrpcStatus(result.status);
  response->set_request_id(prepared_.request_id);
  response->set_model(result.model.empty() ? prepared_.model.name : result.model);
  response->set_model_version(result.model_version);
  response->set_steps(result.steps);
  response->set_confidence(result.confidence);
  response->set_halt_reason(ToProtoHaltReason(result.halt_reason));
  response->mutable_timing()->set_queue_ms(result.timing.queue_ms);
  response->mutable_timing()->set_compute_ms(result.timing.compute_ms);
  response->mutable_timing()->set_total_ms(result.timing.total_ms);
  response->set_source(trm::v1::ANSWER_SOURCE_MODEL);
  response->set_views(result.views);
  response->set_views_agreeing(result.views_agreeing);
  if (prepared_.puzzle.kind == engine::TaskKind::kArc) {
    for (const auto& attempt : result.arc_attempts) {
      auto* a = response->add_arc_attempts();
      ToProtoGrid(attempt.rows, attempt.cols, attempt.cells, a->mutable_grid());
      a->set_votes(attempt.votes);
      a->set_confidence(attempt.confidence);
    }
    if (!response->arc_attempts().empty()) {
      *response->mutable_answer()->mutable_grid() = response->arc_attempts(0).grid();
    }
    if (result.arc_fit.fitted) {
      trm::v1::ArcFit* fit = response->mutable_arc_fit();
      fit->set_fitted(true);
      fit->set_cache_hit(result.arc_fit.cache_hit);
      fit->set_fit_ms(result.arc_fit.fit_ms);
      fit->set_updates(result.arc_fit.updates);
      fit->set_loss_before(result.arc_fit.loss_before);
      fit->set_loss_after(result.arc_fit.loss_after);
    }
    // The server has no ARC solutions; the caller checks attempts against its own.
    response->set_verification(trm::v1::VERIFICATION_NOT_CHECKABLE);
  } else {
    DecodeAnswer(prepared_.puzzle, result.answer_tokens, response->mutable_answer());
    Checked checked = VerifyAnswer(prepared_.puzzle, result.answer_tokens);
    response->set_verification(checked.verification);
    response->set_verification_detail(checked.detail);
    // On the completion thread, never the scheduler's: a slow exact solve delays only this
    // request's answer (and those sharing its completion thread), not the batch.
    if (checked.verification == trm::v1::VERIFICATION_INVALID &&
        prepared_.options.exact_fallback() &&
        ExactAnswer(prepared_.puzzle, response->mutable_answer())) {
      response->set_source(trm::v1::ANSWER_SOURCE_EXACT_SOLVER);
      response->set_verification(trm::v1::VERIFICATION_VERIFIED);
    }
  }
  context_->metrics()->RecordAnswer(
      response->model(), VerificationLabel(response->verification()),
      response->source() == trm::v1::ANSWER_SOURCE_EXACT_SOLVER ? "exact_solver" : "model");
  return grpc::Status::OK;
}

void SolveCall::Record(const grpc::Status& status) {
  if (recorded_.exchange(true)) return;
  context_->metrics()->RecordRequest(method_, model_label_, GrpcCodeName(status.error_code()),
                                     absl::ToDoubleSeconds(absl::Now() - start_));
}

}  // namespace trm::server
