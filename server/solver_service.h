// trm.v1.Solver on gRPC's callback API, in the style of gRPC's route_guide callback example: each
// RPC is a small reactor defined where it is used, sharing SolveCall for the trip through the
// engine. A cancelled RPC (client gone, deadline) trips its call's cancel token, which frees its
// batch slots at the next step boundary.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "base/sync.h"
#include "engine/engine.h"
#include "server/metrics.h"
#include "server/request_codec.h"
#include "server/stall_watcher.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::server {

struct SolverServiceOptions {
  HaltDefaults halt;
  // SolveSteps: messages that may wait for a slow reader besides the one being written; past
  // that, a new step replaces the newest waiting one (server/step_queue.h).
  size_t stream_queue_steps = 8;
  // SolveSteps: a stream whose client takes no message for this long is cancelled (a client
  // that keeps its connection alive but never reads). Zero: never.
  absl::Duration stream_stall_timeout = absl::Seconds(30);
  // Request metadata over this is RESOURCE_EXHAUSTED (server/metadata_limit.h).
  size_t max_metadata_bytes = 16 << 10;
};

class SolverService final : public trm::v1::Solver::CallbackService {
 public:
  // Both must outlive the service. The service starts not accepting (UNAVAILABLE).
  SolverService(engine::Engine* engine, Metrics* metrics, SolverServiceOptions options);

  // While not accepting, Solve/SolveSteps answer UNAVAILABLE with `reason` (loading, draining).
  void SetAccepting(bool accepting, std::string reason = {});

  grpc::ServerUnaryReactor* Solve(grpc::CallbackServerContext* context,
                                  const trm::v1::SolveRequest* request,
                                  trm::v1::SolveResponse* response) override;
  grpc::ServerWriteReactor<trm::v1::SolveStep>* SolveSteps(
      grpc::CallbackServerContext* context, const trm::v1::SolveRequest* request) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const trm::v1::ListModelsRequest* request,
                                       trm::v1::ListModelsResponse* response) override;

  // What a SolveCall needs.
  engine::Engine* engine() const { return engine_; }
  Metrics* metrics() const { return metrics_; }
  const SolverServiceOptions& options() const { return options_; }
  // OK while accepting, else UNAVAILABLE with the reason (and the refusal's time noted).
  absl::Status CheckAccepting() const;
  // When a call was last refused by CheckAccepting (InfinitePast if never): the drain waits for
  // the refusals to stop before gRPC's Shutdown, which kills calls arriving after it CANCELLED.
  absl::Time LastRefusal() const;
  // "trm-N" for a request that names no id.
  std::string NextRequestId();
  // SolveSteps' stall checks; null when stream_stall_timeout is zero.
  StallWatcher* stall_watcher() const { return stall_watcher_.get(); }

 private:
  engine::Engine* const engine_;
  Metrics* const metrics_;
  const SolverServiceOptions options_;
  std::atomic<bool> accepting_{false};
  mutable std::atomic<int64_t> last_refusal_unix_ns_{0};
  std::atomic<uint64_t> next_request_id_{1};
  mutable Mutex reason_mu_;
  std::string not_accepting_reason_ ABSL_GUARDED_BY(reason_mu_) = "server is starting";
  // Declared last: destroyed first, it drops the streams it still watches while the rest of
  // the service is intact.
  std::unique_ptr<StallWatcher> stall_watcher_;
};

// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);
// "OK", "INVALID_ARGUMENT", ...: the gRPC name of a code, for metrics labels.
std::string GrpcCodeName(grpc::StatusCode code);
void ToProtoModelInfo(const engine::ModelInfo& info, trm::v1::ModelInfo* out);

}  // namespace trm::server
