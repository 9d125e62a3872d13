// SolveContext: what every solve call shares, whatever carries it. The gRPC SolverService and the
// HTTP API both hold one (the server owns it) and give it to each SolveCall: the engine, the
// metrics, the server-wide halting defaults, whether solves are accepted now (loading,
// serving, draining) and the ids of requests that name none.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/sync.h"
#include "engine/engine.h"
#include "server/metrics.h"
#include "server/request_codec.h"

namespace trm::server {

class SolveContext {
 public:
  // `engine` and `metrics` must outlive the context. It starts not accepting (UNAVAILABLE).
  SolveContext(engine::Engine* engine, Metrics* metrics, HaltDefaults halt);
  SolveContext(const SolveContext&) = delete;
  SolveContext& operator=(const SolveContext&) = delete;

  engine::Engine* engine() const { return engine_; }
  Metrics* metrics() const { return metrics_; }
  const HaltDefaults& halt() const { return halt_; }

  // While not accepting, solves are refused UNAVAILABLE with `reason` (loading, draining).
  void SetAccepting(bool accepting, std::string reason = {});
  // OK while accepting, else UNAVAILABLE with the reason (and the refusal's time noted).
  absl::Status CheckAccepting() const;
  // When a call was last refused by CheckAccepting (InfinitePast if never): the drain waits for
  // the refusals to stop before gRPC's Shutdown, which kills calls arriving after it CANCELLED.
  absl::Time LastRefusal() const;
  // "trm-N" for a request that names no id.
  std::string NextRequestId();

 private:
  engine::Engine* const engine_;
  Metrics* const metrics_;
  const HaltDefaults halt_;
  std::atomic<bool> accepting_{false};
  mutable std::atomic<int64_t> last_refusal_unix_ns_{0};
  std::atomic<uint64_t> next_request_id_{1};
  mutable Mutex reason_mu_;
  std::string not_accepting_reason_ ABSL_GUARDED_BY(reason_mu_) = "server is starting";
};

}  // namespace trm::server
