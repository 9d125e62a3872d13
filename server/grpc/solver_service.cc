#include "server/grpc/solver_service.h"

#include <grpc/support/time.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/grpc/step_queue.h"
#include "server/grpc_status.h"
#include "server/guards/metadata_limit.h"
#include "server/solve_call.h"

namespace trm::server {
namespace {

using trm::v1::SolveRequest;
using trm::v1::SolveResponse;
using trm::v1::SolveStep;

// gRPC's deadline as absl::Time, from the raw timespec: deadline() converts it to a nanosecond
// system_clock, which wraps around for a grpc-timeout beyond about 2262 (the wire allows
// 99,999,999 hours) and would make such a call look expired. A year away or more is no deadline.
absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const gpr_timespec raw = gpr_convert_clock_type(context.raw_deadline(), GPR_CLOCK_REALTIME);
  const absl::Time deadline = absl::FromUnixSeconds(raw.tv_sec) + absl::Nanoseconds(raw.tv_nsec);
  if (deadline >= absl::Now() + absl::Hours(24 * 365)) return absl::InfiniteFuture();
  return deadline;
}

// Solve. The reactor owns itself through `self_` until gRPC's OnDone, and the engine's done
// handler holds another reference, so neither side can delete it under the other.
class SolveReactor final : public grpc::ServerUnaryReactor,
                           public std::enable_shared_from_this<SolveReactor> {
 public:
  SolveReactor(SolverService* service, SolveResponse* response)
      : call_(service->solve_context(), "Solve"), response_(response) {}

  // `admitted`: the service's checks of the call itself (request metadata).
  void Start(const grpc::CallbackServerContext& context, const SolveRequest& request,
             const absl::Status& admitted) {
    self_ = shared_from_this();
    call_.set_client(context.peer());
    call_.Start(
        request, DeadlineOf(context), nullptr,
        [self = shared_from_this()](const grpc::Status& status, SolveResponse response) {
          if (status.ok()) *self->response_ = std::move(response);
          self->Finish(status);
        },
        admitted);
  }

  void OnCancel() override { call_.Cancel(); }
  void OnDone() override { self_.reset(); }

 private:
  SolveCall call_;
  SolveResponse* const response_;
  std::shared_ptr<SolveReactor> self_;
};

// SolveSteps. Step messages arrive on a completion thread and queue here, in a StepQueue (a slow
// reader gets the latest steps, server/grpc/step_queue.h); exactly one write is in flight at a time
// (OnWriteDone starts the next), and Finish follows the last queued write. A failed write means
// the client is gone: the call is cancelled and the queue dropped. A client that takes no
// message for the stall timeout is cancelled by the service's StallWatcher (CheckStall).
class StepsReactor final : public grpc::ServerWriteReactor<SolveStep>,
                           public std::enable_shared_from_this<StepsReactor> {
 public:
  StepsReactor(SolverService* service, grpc::CallbackServerContext* context)
      : service_(service),
        context_(context),
        call_(service->solve_context(), "SolveSteps"),
        queue_(service->options().stream_queue_steps) {}

  // `admitted` as for SolveReactor.
  void Start(const SolveRequest& request, const absl::Status& admitted) {
    self_ = shared_from_this();
    call_.set_client(context_->peer());
    call_.Start(
        request, DeadlineOf(*context_),
        [self = shared_from_this()](SolveStep step) { self->Queue(std::move(step)); },
        [self = shared_from_this()](const grpc::Status& status, SolveResponse response) {
          self->OnCallDone(status, std::move(response));
        },
        admitted);
    // The watcher's reference is dropped once the stream has finished (CheckStall).
    if (StallWatcher* watcher = service_->stall_watcher()) {
      watcher->Watch(
          [self = shared_from_this()](bool stopping) { return self->CheckStall(stopping); });
    }
  }

  void OnCancel() override { call_.Cancel(); }

  void OnWriteDone(bool ok) override {
    MutexLock lock(&mu_);
    queue_.WriteDone();
    if (!ok) {
      broken_ = true;
      queue_.DropWaiting();
      call_.Cancel();
    }
    NextWrite();
  }

  void OnDone() override { self_.reset(); }

 private:
  void Queue(SolveStep step) {
    MutexLock lock(&mu_);
    if (broken_) return;
    queue_.Push(std::move(step));
    NextWrite();
  }

  void OnCallDone(const grpc::Status& status, SolveResponse response) {
    std::optional<SolveStep> last;
    if (status.ok()) last = call_.FinalStep(std::move(response));
    MutexLock lock(&mu_);
    if (last && !broken_) queue_.Push(*std::move(last));
    finish_status_ = status;
    call_done_ = true;
    NextWrite();
  }

  // On the StallWatcher's thread; true: look again later. Finish is held back while TryCancel
  // runs (cancelling_), so the context outlives it: gRPC frees the context after OnDone, which
  // only comes after Finish.
  bool CheckStall(bool stopping) {
    {
      MutexLock lock(&mu_);
      if (finished_ || stopping) return false;
      if (stalled_ || queue_.WriteWaiting(absl::Now()) < service_->options().stream_stall_timeout) {
        return true;
      }
      cancelling_ = stalled_ = true;
    }
    service_->solve_context()->metrics()->RecordStalledStream();
    context_->TryCancel();  // OnCancel and OnWriteDone(false) may run inline here.
    MutexLock lock(&mu_);
    cancelling_ = false;
    NextWrite();
    return true;
  }

  // Starts the next write, or finishes once the call is done and the queue is empty.
  void NextWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (queue_.writing() || finished_ || cancelling_) return;
    if (const SolveStep* next = queue_.StartWrite(absl::Now())) {
      StartWrite(next);
    } else if (call_done_) {
      finished_ = true;
      if (queue_.merged() > 0)
        service_->solve_context()->metrics()->RecordMergedSteps(queue_.merged());
      const grpc::Status status =
          broken_ ? grpc::Status(grpc::StatusCode::CANCELLED,
                                 stalled_ ? "stream stalled: the client took no message for the "
                                            "stall timeout"
                                          : "stream closed by the client")
                  : finish_status_;
      call_.StreamEnded(status);
      Finish(status);
    }
  }

  SolverService* const service_;
  grpc::CallbackServerContext* const context_;
  SolveCall call_;
  std::shared_ptr<StepsReactor> self_;
  Mutex mu_;
  StepQueue queue_ ABSL_GUARDED_BY(mu_);
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool call_done_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelling_ ABSL_GUARDED_BY(mu_) = false;  // CheckStall's TryCancel is under way.
  bool stalled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

SolverService::SolverService(SolveContext* context, SolverServiceOptions options)
    : context_(context), options_(options) {
  if (options_.stream_stall_timeout > absl::ZeroDuration()) {
    // Streams are looked at a few times per timeout: one is cancelled at most a quarter of the
    // timeout (and at most a second) after the timeout has passed.
    stall_watcher_ = std::make_unique<StallWatcher>(
        std::clamp(options_.stream_stall_timeout / 4, absl::Milliseconds(10), absl::Seconds(1)));
  }
}

grpc::ServerUnaryReactor* SolverService::Solve(grpc::CallbackServerContext* context,
                                               const SolveRequest* request,
                                               SolveResponse* response) {
  auto reactor = std::make_shared<SolveReactor>(this, response);
  reactor->Start(*context, *request, CheckMetadataSize(*context, options_.max_metadata_bytes));
  return reactor.get();
}

grpc::ServerWriteReactor<SolveStep>* SolverService::SolveSteps(grpc::CallbackServerContext* context,
                                                               const SolveRequest* request) {
  auto reactor = std::make_shared<StepsReactor>(this, context);
  reactor->Start(*request, CheckMetadataSize(*context, options_.max_metadata_bytes));
  return reactor.get();
}

grpc::ServerUnaryReactor* SolverService::ListModels(grpc::CallbackServerContext* context,
                                                    const trm::v1::ListModelsRequest* /*request*/,
                                                    trm::v1::ListModelsResponse* response) {
  const absl::Time start = absl::Now();
  auto* reactor = context->DefaultReactor();
  if (absl::Status s = CheckMetadataSize(*context, options_.max_metadata_bytes); !s.ok()) {
    context_->metrics()->RecordRequest("ListModels", "", GrpcCodeName(ToGrpcStatus(s).error_code()),
                                       absl::ToDoubleSeconds(absl::Now() - start));
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  for (const auto& info : context_->engine()->ListModels()) {
    ToProtoModelInfo(info, response->add_models());
  }
  context_->metrics()->RecordRequest("ListModels", "", "OK",
                                     absl::ToDoubleSeconds(absl::Now() - start));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace trm::server
