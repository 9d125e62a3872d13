#include "server/solver_service.h"

#include <chrono>
#include <deque>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/solve_call.h"

namespace trm::server {
namespace {

using trm::v1::SolveRequest;
using trm::v1::SolveResponse;
using trm::v1::SolveStep;

// gRPC's deadline as absl::Time; "no deadline" is time_point::max(), which would overflow.
absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  const auto now = std::chrono::system_clock::now();
  if (deadline >= now + std::chrono::hours(24 * 365)) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

// Solve. The reactor owns itself through `self_` until gRPC's OnDone, and the engine's done
// handler holds another reference, so neither side can delete it under the other.
class SolveReactor final : public grpc::ServerUnaryReactor,
                           public std::enable_shared_from_this<SolveReactor> {
 public:
  SolveReactor(SolverService* service, SolveResponse* response)
      : call_(service, "Solve"), response_(response) {}

  void Start(const grpc::CallbackServerContext& context, const SolveRequest& request) {
    self_ = shared_from_this();
    call_.Start(request, DeadlineOf(context), nullptr,
                [self = shared_from_this()](const grpc::Status& status, SolveResponse response) {
                  if (status.ok()) *self->response_ = std::move(response);
                  self->Finish(status);
                });
  }

  void OnCancel() override { call_.Cancel(); }
  void OnDone() override { self_.reset(); }

 private:
  SolveCall call_;
  SolveResponse* const response_;
  std::shared_ptr<SolveReactor> self_;
};

// SolveSteps. Step messages arrive on a completion thread and queue here; exactly one write is
// in flight at a time (OnWriteDone starts the next), and Finish follows the last queued write.
// A failed write means the client is gone: the call is cancelled and the queue dropped.
class StepsReactor final : public grpc::ServerWriteReactor<SolveStep>,
                           public std::enable_shared_from_this<StepsReactor> {
 public:
  explicit StepsReactor(SolverService* service) : call_(service, "SolveSteps") {}

  void Start(const grpc::CallbackServerContext& context, const SolveRequest& request) {
    self_ = shared_from_this();
    call_.Start(
        request, DeadlineOf(context),
        [self = shared_from_this()](SolveStep step) { self->Queue(std::move(step)); },
        [self = shared_from_this()](const grpc::Status& status, SolveResponse response) {
          self->OnCallDone(status, std::move(response));
        });
  }

  void OnCancel() override { call_.Cancel(); }

  void OnWriteDone(bool ok) override {
    MutexLock lock(&mu_);
    writing_ = false;
    pending_.pop_front();
    if (!ok) {
      broken_ = true;
      pending_.clear();
      call_.Cancel();
    }
    NextWrite();
  }

  void OnDone() override { self_.reset(); }

 private:
  void Queue(SolveStep step) {
    MutexLock lock(&mu_);
    if (broken_) return;
    pending_.push_back(std::move(step));
    NextWrite();
  }

  void OnCallDone(const grpc::Status& status, SolveResponse response) {
    std::optional<SolveStep> last;
    if (status.ok()) last = call_.FinalStep(std::move(response));
    MutexLock lock(&mu_);
    if (last && !broken_) pending_.push_back(*std::move(last));
    finish_status_ = status;
    call_done_ = true;
    NextWrite();
  }

  // Starts the next write, or finishes once the call is done and the queue is empty.
  void NextWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    if (!pending_.empty()) {
      writing_ = true;
      StartWrite(&pending_.front());
    } else if (call_done_) {
      finished_ = true;
      Finish(broken_ ? grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client")
                     : finish_status_);
    }
  }

  SolveCall call_;
  std::shared_ptr<StepsReactor> self_;
  Mutex mu_;
  std::deque<SolveStep> pending_ ABSL_GUARDED_BY(mu_);  // front() is being written while writing_.
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool call_done_ ABSL_GUARDED_BY(mu_) = false;
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
    : engine_(engine), metrics_(metrics), options_(options) {}

void SolverService::SetAccepting(bool accepting, std::string reason) {
  {
    MutexLock lock(&reason_mu_);
    not_accepting_reason_ = std::move(reason);
  }
  accepting_.store(accepting);
}

absl::Status SolverService::CheckAccepting() const {
  if (accepting_.load()) return absl::OkStatus();
  MutexLock lock(&reason_mu_);
  return absl::UnavailableError(not_accepting_reason_);
}

std::string SolverService::NextRequestId() {
  return absl::StrCat("trm-", next_request_id_.fetch_add(1));
}

grpc::ServerUnaryReactor* SolverService::Solve(grpc::CallbackServerContext* context,
                                               const SolveRequest* request,
                                               SolveResponse* response) {
  auto reactor = std::make_shared<SolveReactor>(this, response);
  reactor->Start(*context, *request);
  return reactor.get();
}

grpc::ServerWriteReactor<SolveStep>* SolverService::SolveSteps(grpc::CallbackServerContext* context,
                                                               const SolveRequest* request) {
  auto reactor = std::make_shared<StepsReactor>(this);
  reactor->Start(*context, *request);
  return reactor.get();
}

grpc::ServerUnaryReactor* SolverService::ListModels(grpc::CallbackServerContext* context,
                                                    const trm::v1::ListModelsRequest* /*request*/,
                                                    trm::v1::ListModelsResponse* response) {
  const absl::Time start = absl::Now();
  for (const auto& info : engine_->ListModels()) ToProtoModelInfo(info, response->add_models());
  metrics_->RecordRequest("ListModels", "", "OK", absl::ToDoubleSeconds(absl::Now() - start));
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace trm::server
