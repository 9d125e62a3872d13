// The server's Prometheus metrics, exactly the names of docs/metrics.md.
//
// One registry per server (the only process-wide state the project allows is "the metrics
// registry"; keeping it in this object lets tests run several servers in one process). It is an
// EngineObserver: the engine reports each finished request to the model's ModelObserver (its
// series looked up once, when the model is added) on a completion thread, without knowing
// Prometheus. The schedulers' own figures (queue depth, active requests and rows, batch steps and
// occupancy) are read from Engine::Stats at scrape time, so the step loop never touches a metric.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/sync.h"
#include "engine/engine.h"

namespace trm::server {

// "q_head", "max_steps", "fixed_steps": the `reason` label values.
const char* HaltReasonLabel(engine::HaltReason reason);

// What the gRPC port's connection guard (server/guards/grpc_connection_guard.h) reports.
struct GrpcConnectionStats {
  int open = 0;
  int limit = 0;
  int64_t refused = 0;        // Shut down as accepted: the budget was spent.
  int64_t closed_idle = 0;    // Idle, closed to make room.
  int64_t closed_resets = 0;  // Reset streams faster than the limit.
};

// What each HTTP server (server/http/http_server.h) reports: what an operator watches
// (trm_http_connections*, docs/metrics.md).
struct HttpServerStats {
  int open = 0;                      // Connections served or waiting for a worker.
  int limit = 0;                     // max_connections.
  int64_t accept_waits = 0;          // Times the listener waited for the budget.
  int64_t closed_deadline = 0;       // Closed for sending too slowly or idling past the deadline.
  int64_t closed_budget = 0;         // Closed early, to make room at the budget.
  int64_t closed_address_share = 0;  // Refused 429: their address had its share served.
};

class Metrics final : public engine::EngineObserver {
 public:
  // Per-model scheduler figures, polled at scrape time (e.g. from Engine::Stats).
  using StatsSource = std::function<std::vector<std::pair<std::string, engine::ModelStats>>()>;

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // Everything to expose: the registry, the scheduler-stats collector and the process one.
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables() const {
    return {registry_,
            stats_collector_,
            process_collector_,
            call_counts_collector_,
            http_stats_collector_,
            grpc_connections_collector_};
  }
  void SetStatsSource(StatsSource source);

  // A finished RPC; `code` is the gRPC status name ("OK", "INVALID_ARGUMENT", ...).
  void RecordRequest(const std::string& method, const std::string& model, const std::string& code,
                     double seconds);
  // verification: verified | invalid | not_checkable; source: model | exact_solver.
  void RecordAnswer(const std::string& model, const std::string& verification,
                    const std::string& source);
  // trm_model_info: replaces the model's previous series (a reload changes the version).
  void SetModelInfo(const engine::ModelInfo& info);
  void SetServing(bool serving);

  // Hostile or broken clients (issue 22; docs/reliability.md); unlabelled, so each is exported
  // (at 0) from the start. A SolveSteps stream cancelled because its client took no message for
  // the stall timeout:
  void RecordStalledStream();
  // Step messages a slow reader did not get on their own (merged into a later message):
  void RecordMergedSteps(uint64_t steps);
  // A request whose message did not parse:
  void RecordMalformedRequest();
  // A call the client reset (RST_STREAM) before its request message arrived:
  void RecordResetBeforeRequest();
  // A log line of the protobuf library:
  void RecordProtobufLog();
  // Calls the gRPC transport accepted and saw fail (cancelled or reset by the client included),
  // polled at scrape time from gRPC's channelz, so streams reset before the service ever saw
  // them are counted too.
  using CallCountsSource = std::function<std::pair<int64_t, int64_t>()>;  // started, failed
  void SetCallCountsSource(CallCountsSource source);
  // The gRPC port's connections (trm_grpc_connections*, server/guards/grpc_connection_guard.h).
  using GrpcConnectionsSource = std::function<GrpcConnectionStats()>;
  void SetGrpcConnectionsSource(GrpcConnectionsSource source);
  // The HTTP listeners' connections (trm_http_connections*), by listener ("http", "metrics"),
  // polled at scrape time.
  using HttpStatsSource = std::function<std::vector<std::pair<std::string, HttpServerStats>>()>;
  void SetHttpStatsSource(HttpStatsSource source);

  // EngineObserver: the model's per-request series, made once.
  std::shared_ptr<engine::ModelObserver> ForModel(const std::string& model) override;

 private:
  class ModelSeries;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Histogram>& queue_wait_;
  prometheus::Family<prometheus::Histogram>& compute_;
  prometheus::Family<prometheus::Histogram>& act_steps_;
  prometheus::Family<prometheus::Counter>& halt_reasons_;
  prometheus::Family<prometheus::Histogram>& views_;
  prometheus::Family<prometheus::Counter>& arc_fits_;
  prometheus::Family<prometheus::Histogram>& arc_fit_duration_;
  prometheus::Family<prometheus::Counter>& answers_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  prometheus::Gauge& health_serving_;
  prometheus::Counter& stream_stalls_;
  prometheus::Counter& stream_steps_merged_;
  prometheus::Counter& malformed_requests_;
  prometheus::Counter& requests_reset_;
  prometheus::Counter& protobuf_logs_;
  std::shared_ptr<prometheus::Collectable> call_counts_collector_;
  std::shared_ptr<prometheus::Collectable> http_stats_collector_;
  std::shared_ptr<prometheus::Collectable> grpc_connections_collector_;

  Mutex mu_;
  std::map<std::string, prometheus::Gauge*> model_info_series_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<prometheus::Collectable> stats_collector_;
  std::shared_ptr<prometheus::Collectable> process_collector_;
};

// process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds,
// process_start_time_seconds, read from /proc/self at scrape time (prometheus-cpp has none).
std::shared_ptr<prometheus::Collectable> MakeProcessCollector();

}  // namespace trm::server
