// trm.v1.Solver on gRPC's callback API, in the style of gRPC's route_guide callback example: each
// RPC is a small reactor defined where it is used, sharing SolveCall for the trip through the
// engine. A cancelled RPC (client gone, deadline) trips its call's cancel token, which frees its
// batch slots at the next step boundary.
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/grpc/stall_watcher.h"
#include "server/solve_context.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::server {

struct SolverServiceOptions {
  // SolveSteps: messages that may wait for a slow reader besides the one being written; past
  // that, a new step replaces the newest waiting one (server/grpc/step_queue.h).
  size_t stream_queue_steps = 8;
  // SolveSteps: a stream whose client takes no message for this long is cancelled (a client
  // that keeps its connection alive but never reads). Zero: never.
  absl::Duration stream_stall_timeout = absl::Seconds(30);
  // Request metadata over this is RESOURCE_EXHAUSTED (server/guards/metadata_limit.h).
  size_t max_metadata_bytes = 16 << 10;
};

class SolverService final : public trm::v1::Solver::CallbackService {
 public:
  // `context` (the solve path's, shared with the HTTP API) must outlive the service.
  SolverService(SolveContext* context, SolverServiceOptions options);

  grpc::ServerUnaryReactor* Solve(grpc::CallbackServerContext* context,
                                  const trm::v1::SolveRequest* request,
                                  trm::v1::SolveResponse* response) override;
  grpc::ServerWriteReactor<trm::v1::SolveStep>* SolveSteps(
      grpc::CallbackServerContext* context, const trm::v1::SolveRequest* request) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const trm::v1::ListModelsRequest* request,
                                       trm::v1::ListModelsResponse* response) override;

  // What the RPCs' reactors need.
  SolveContext* solve_context() const { return context_; }
  const SolverServiceOptions& options() const { return options_; }
  // SolveSteps' stall checks; null when stream_stall_timeout is zero.
  StallWatcher* stall_watcher() const { return stall_watcher_.get(); }

 private:
  SolveContext* const context_;
  const SolverServiceOptions options_;
  // Declared last: destroyed first, it drops the streams it still watches while the rest of
  // the service is intact.
  std::unique_ptr<StallWatcher> stall_watcher_;
};

}  // namespace trm::server
