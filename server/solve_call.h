// SolveCall: one Solve or SolveSteps call's trip through the engine, whatever carries it (the
// unary and the streaming gRPC reactors share it; another transport can too).
//
// Start prepares the request (admission checks, model resolution, encoding, options), submits it
// with a cancel token made beforehand, so a Cancel can never fall in a window before the engine
// holds the request, and turns the engine's events into protobuf on the engine's completion
// thread: step messages, then exactly one done callback with the response (answer decoded,
// verified, the exact fallback when asked for) and the call counted in the metrics.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "grpcpp/grpcpp.h"
#include "server/request_codec.h"
#include "server/solve_context.h"
#include "trm/v1/solver.pb.h"

namespace trm::server {

class SolveCall {
 public:
  // Every step but the one that answers the request (SolveSteps builds that from the response
  // with FinalStep).
  using StepHandler = std::function<void(trm::v1::SolveStep step)>;
  // Exactly once: the call's status and, when OK, its response.
  using DoneHandler =
      std::function<void(const grpc::Status& status, trm::v1::SolveResponse response)>;

  // `method` labels the call in the metrics ("Solve", "SolveSteps"). `context` must outlive it.
  SolveCall(SolveContext* context, std::string method);
  SolveCall(const SolveCall&) = delete;
  SolveCall& operator=(const SolveCall&) = delete;

  // Runs the call. `on_done` runs exactly once: before Start returns when the request is refused
  // (bad input, unknown model, full queue, not serving), else on a completion thread. `on_step`
  // may be empty (Solve). Both may capture what keeps the caller alive: they are released once
  // the call is done. `admitted`: the carrier's own checks of the call (gRPC: the request
  // metadata's size); an error refuses the call like a bad request.
  void Start(const trm::v1::SolveRequest& request, absl::Time deadline, StepHandler on_step,
             DoneHandler on_done, const absl::Status& admitted = absl::OkStatus());
  // Who the call is from (the client's connection), for the engine's per-client share of batch
  // slots. Before Start.
  void set_client(std::string client) { client_ = std::move(client); }
  // Cancels: safe before, during and after Start, from any thread, more than once.
  void Cancel() { cancel_->Cancel(); }
  // A stream (Start with an on_step) is counted in the metrics when its carrier ends it, with
  // what the client gets: one the client stopped reading or left is CANCELLED, whatever the
  // engine answered. Call it once, just before the stream's status or last event goes out. A
  // call refused at Start, or a unary one, is counted here already (later calls do nothing).
  void StreamEnded(const grpc::Status& status) { Record(status); }

  // The last stream message: the response as a step, with the cells changed since the last step
  // sent. Call from the done handler.
  trm::v1::SolveStep FinalStep(trm::v1::SolveResponse response) const;

  // Implementation details follow. API users need not read.
 private:
  struct Prepared {
    engine::ModelInfo model;
    EncodedPuzzle puzzle;
    engine::HaltOptions halt;
    trm::v1::SolveOptions options;
    std::string request_id;
    absl::Time deadline = absl::InfiniteFuture();
  };
  absl::StatusOr<Prepared> Prepare(const trm::v1::SolveRequest& request, absl::Time deadline,
                                   const absl::Status& admitted);
  absl::Status Submit(StepHandler on_step, DoneHandler on_done);
  void OnEngineStep(const engine::StepEvent& event, const StepHandler& on_step);
  void OnEngineDone(const engine::Result& result, const DoneHandler& on_done);
  grpc::Status FillResponse(const engine::Result& result, trm::v1::SolveResponse* response);
  void Record(const grpc::Status& status);  // Once; later calls do nothing.

  SolveContext* const context_;
  const std::string method_;
  const absl::Time start_;
  const std::shared_ptr<engine::CancelToken> cancel_ = std::make_shared<engine::CancelToken>();
  std::string client_;
  bool streaming_ = false;  // Start had an on_step: the carrier counts it (StreamEnded).
  std::atomic<bool> recorded_{false};
  std::string model_label_;  // The resolved model, or empty (request text never becomes a label).
  Prepared prepared_;
  // The completion thread's: the engine tokens of the last step sent, and the cells the answer
  // changes against them (FinalStep).
  std::vector<int32_t> last_tokens_;
  std::vector<int32_t> final_changed_;
};

}  // namespace trm::server
