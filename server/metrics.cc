#include "server/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_split.h"

namespace trm::server {
namespace {

using prometheus::Histogram;

// RPC latencies span sub-millisecond (ListModels) to tens of seconds (ARC with many variants).
Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}
Histogram::BucketBoundaries FitBuckets() {  // A fit takes seconds to minutes on a CPU.
  return {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};
}
Histogram::BucketBoundaries StepBuckets() {  // docs/metrics.md: 1..16, 32, 64.
  Histogram::BucketBoundaries b;
  for (int i = 1; i <= 16; ++i) b.push_back(i);
  b.push_back(32);
  b.push_back(64);
  return b;
}
Histogram::BucketBoundaries ViewBuckets() { return {1, 2, 3, 4, 5, 6, 7, 8}; }

prometheus::MetricFamily Family(const std::string& name, const std::string& help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

prometheus::ClientMetric Labelled(std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  return m;
}

// A collector whose figures come from a function set once the server has them, polled at scrape
// time; Collect gets a copy of it (or an empty one before Set).
template <typename Source>
class PolledCollector : public prometheus::Collectable {
 public:
  void Set(Source source) {
    MutexLock lock(&mu_);
    source_ = std::move(source);
  }

 protected:
  Source source() const {
    MutexLock lock(&mu_);
    return source_;
  }

 private:
  mutable Mutex mu_;
  Source source_ ABSL_GUARDED_BY(mu_);
};

// The schedulers' figures straight from Engine::Stats at scrape time: the step loop keeps plain
// atomic counters and never calls into Prometheus.
class StatsCollector final : public PolledCollector<Metrics::StatsSource> {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    const Metrics::StatsSource source = this->source();
    auto depth = Family("trm_queue_depth", "Requests waiting for a batch slot",
                        prometheus::MetricType::Gauge);
    auto active = Family("trm_active_requests", "Requests with rows in batch slots",
                         prometheus::MetricType::Gauge);
    auto rows = Family("trm_active_rows", "Occupied batch slots (a request takes one per view)",
                       prometheus::MetricType::Gauge);
    auto steps =
        Family("trm_batch_steps_total", "Batched ACT steps run", prometheus::MetricType::Counter);
    auto occupancy = Family("trm_batch_occupancy_ratio",
                            "Occupied slots / batch capacity, one observation per ACT step",
                            prometheus::MetricType::Histogram);
    if (source) {
      for (const auto& entry : source()) {
        // Not a structured binding: clang 14 (the thread-safety build) cannot capture one.
        const std::string& model = entry.first;
        const auto& stats = entry.second;
        auto gauge = [&](prometheus::MetricFamily& f, int64_t value) {
          f.metric.push_back(Labelled({{"model", model}}));
          f.metric.back().gauge.value = static_cast<double>(value);
        };
        gauge(depth, stats.queue_depth);
        gauge(active, stats.active_requests);
        gauge(rows, stats.active_rows);
        steps.metric.push_back(Labelled({{"model", model}}));
        steps.metric.back().counter.value = static_cast<double>(stats.steps_run);
        prometheus::ClientMetric h = Labelled({{"model", model}});
        uint64_t cumulative = 0;
        for (int b = 0; b < engine::kNumOccupancyBuckets; ++b) {
          cumulative += static_cast<uint64_t>(stats.occupancy_counts[b]);
          prometheus::ClientMetric::Bucket bucket;
          bucket.upper_bound = engine::kOccupancyBuckets[b];
          bucket.cumulative_count = cumulative;
          h.histogram.bucket.push_back(bucket);
        }
        prometheus::ClientMetric::Bucket inf;
        inf.upper_bound = std::numeric_limits<double>::infinity();
        inf.cumulative_count = cumulative;
        h.histogram.bucket.push_back(inf);
        h.histogram.sample_count = cumulative;
        h.histogram.sample_sum = stats.occupancy_sum;
        occupancy.metric.push_back(std::move(h));
      }
    }
    return {depth, active, rows, steps, occupancy};
  }
};

// trm_grpc_calls_started_total and trm_grpc_calls_failed_total from a source polled at scrape
// time (gRPC's channelz counts in the transport, below the services).
class CallCountsCollector final : public PolledCollector<Metrics::CallCountsSource> {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    const Metrics::CallCountsSource source = this->source();
    if (!source) return {};
    const auto [started, failed] = source();
    auto s = Family("trm_grpc_calls_started_total",
                    "Calls (HTTP/2 streams) the gRPC server accepted, those reset by the client "
                    "before any service saw them included",
                    prometheus::MetricType::Counter);
    s.metric.push_back(Labelled({}));
    s.metric.back().counter.value = static_cast<double>(started);
    auto f = Family("trm_grpc_calls_failed_total",
                    "Calls the gRPC server saw end with an error or a cancellation (a client's "
                    "RST_STREAM included)",
                    prometheus::MetricType::Counter);
    f.metric.push_back(Labelled({}));
    f.metric.back().counter.value = static_cast<double>(failed);
    return {s, f};
  }
};

// trm_http_connections* from a source polled at scrape time (each HttpServer's own counts).
class HttpStatsCollector final : public PolledCollector<Metrics::HttpStatsSource> {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    const Metrics::HttpStatsSource source = this->source();
    if (!source) return {};
    auto open = Family("trm_http_connections",
                       "Open connections of an HTTP listener (served or waiting for a worker)",
                       prometheus::MetricType::Gauge);
    auto limit = Family("trm_http_connections_limit",
                        "The listener's connection budget: at it, the listener stops accepting "
                        "and closes idle connections early",
                        prometheus::MetricType::Gauge);
    auto waits = Family("trm_http_accept_waits_total",
                        "Times an HTTP listener found its connection budget spent and waited",
                        prometheus::MetricType::Counter);
    auto closed = Family("trm_http_connections_closed_total",
                         "Connections the server closed: reason=deadline (the request did not "
                         "arrive in time, or idle too long), reason=budget (idle, closed early "
                         "to make room at the connection budget), reason=address_share (429: its "
                         "client address had its share of connections served)",
                         prometheus::MetricType::Counter);
    for (const auto& [listener, s] : source()) {
      open.metric.push_back(Labelled({{"listener", listener}}));
      open.metric.back().gauge.value = s.open;
      limit.metric.push_back(Labelled({{"listener", listener}}));
      limit.metric.back().gauge.value = s.limit;
      waits.metric.push_back(Labelled({{"listener", listener}}));
      waits.metric.back().counter.value = static_cast<double>(s.accept_waits);
      closed.metric.push_back(Labelled({{"listener", listener}, {"reason", "deadline"}}));
      closed.metric.back().counter.value = static_cast<double>(s.closed_deadline);
      closed.metric.push_back(Labelled({{"listener", listener}, {"reason", "budget"}}));
      closed.metric.back().counter.value = static_cast<double>(s.closed_budget);
      closed.metric.push_back(Labelled({{"listener", listener}, {"reason", "address_share"}}));
      closed.metric.back().counter.value = static_cast<double>(s.closed_address_share);
    }
    return {open, limit, waits, closed};
  }
};

// trm_grpc_connections* from the gRPC port's GrpcConnectionGuard.
class GrpcConnectionsCollector final : public PolledCollector<Metrics::GrpcConnectionsSource> {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    const Metrics::GrpcConnectionsSource source = this->source();
    if (!source) return {};
    const GrpcConnectionStats s = source();
    auto open = Family("trm_grpc_connections", "Open connections of the gRPC port",
                       prometheus::MetricType::Gauge);
    open.metric.push_back(Labelled({}));
    open.metric.back().gauge.value = s.open;
    auto limit = Family("trm_grpc_connections_limit",
                        "The gRPC port's connection budget (--grpc_max_connections)",
                        prometheus::MetricType::Gauge);
    limit.metric.push_back(Labelled({}));
    limit.metric.back().gauge.value = s.limit;
    auto closed = Family("trm_grpc_connections_closed_total",
                         "gRPC connections the server closed: reason=refused (accepted past the "
                         "budget), idle (the oldest idle, to make room), resets (streams reset "
                         "faster than --max_stream_resets_per_s)",
                         prometheus::MetricType::Counter);
    for (const auto& [reason, n] : {std::pair<const char*, int64_t>{"refused", s.refused},
                                    {"idle", s.closed_idle},
                                    {"resets", s.closed_resets}}) {
      closed.metric.push_back(Labelled({{"reason", reason}}));
      closed.metric.back().counter.value = static_cast<double>(n);
    }
    return {open, limit, closed};
  }
};

class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    // /proc/self/stat: fields after the parenthesised command name; utime, stime are fields
    // 14, 15, starttime 22, rss 24 (1-based, proc(5)).
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    const size_t close = stat.rfind(')');
    if (close != std::string::npos) {
      std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
      // f[0] is field 3 (state), so field n is f[n - 3].
      if (f.size() > 21) {
        const double utime = std::stod(f[11]), stime = std::stod(f[12]);
        const double start_ticks = std::stod(f[19]);
        const double rss_pages = std::stod(f[21]);
        auto cpu = Family("process_cpu_seconds_total", "User and system CPU time",
                          prometheus::MetricType::Counter);
        cpu.metric.push_back(Labelled({}));
        cpu.metric.back().counter.value = (utime + stime) / ticks;
        out.push_back(cpu);
        auto rss = Family("process_resident_memory_bytes", "Resident memory",
                          prometheus::MetricType::Gauge);
        rss.metric.push_back(Labelled({}));
        rss.metric.back().gauge.value = rss_pages * page;
        out.push_back(rss);
        auto start = Family("process_start_time_seconds", "Start time, seconds since the epoch",
                            prometheus::MetricType::Gauge);
        start.metric.push_back(Labelled({}));
        start.metric.back().gauge.value = BootTime() + start_ticks / ticks;
        out.push_back(start);
      }
    }
    auto fds = Family("process_open_fds", "Open file descriptors", prometheus::MetricType::Gauge);
    fds.metric.push_back(Labelled({}));
    fds.metric.back().gauge.value = CountOpenFds();
    out.push_back(fds);
    return out;
  }

 private:
  static double BootTime() {
    std::ifstream in("/proc/stat");
    std::string key;
    double value = 0;
    while (in >> key) {
      if (key == "btime") {
        in >> value;
        return value;
      }
      in.ignore(1 << 20, '\n');
    }
    return 0;
  }
  static double CountOpenFds() {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return 0;
    int n = 0;
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
    return n - 1;  // Not counting the directory handle just opened.
  }
};

}  // namespace

const char* HaltReasonLabel(engine::HaltReason reason) {
  switch (reason) {
    case engine::HaltReason::kQHead:
      return "q_head";
    case engine::HaltReason::kMaxSteps:
      return "max_steps";
    case engine::HaltReason::kFixedSteps:
      return "fixed_steps";
  }
  return "max_steps";
}

std::shared_ptr<prometheus::Collectable> MakeProcessCollector() {
  return std::make_shared<ProcessCollector>();
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("trm_requests_total")
                    .Help("Finished RPCs by method, model and gRPC status code")
                    .Register(*registry_)),
      request_duration_(prometheus::BuildHistogram()
                            .Name("trm_request_duration_seconds")
                            .Help("RPC latency, receipt to final answer")
                            .Register(*registry_)),
      queue_wait_(prometheus::BuildHistogram()
                      .Name("trm_queue_wait_seconds")
                      .Help("Time from admission to the queue to the first ACT step")
                      .Register(*registry_)),
      compute_(prometheus::BuildHistogram()
                   .Name("trm_compute_seconds")
                   .Help("Time from the first ACT step to the final one")
                   .Register(*registry_)),
      act_steps_(prometheus::BuildHistogram()
                     .Name("trm_act_steps")
                     .Help("ACT steps a request ran")
                     .Register(*registry_)),
      halt_reasons_(prometheus::BuildCounter()
                        .Name("trm_halt_reasons_total")
                        .Help("Why requests stopped")
                        .Register(*registry_)),
      views_(prometheus::BuildHistogram()
                 .Name("trm_views")
                 .Help("Dihedral views a request ran before its vote was decided")
                 .Register(*registry_)),
      arc_fits_(prometheus::BuildCounter()
                    .Name("trm_arc_fits_total")
                    .Help("ARC puzzle-embedding fits for unseen tasks by outcome (ok, error) "
                          "and requests answered from the fit cache (cache_hit)")
                    .Register(*registry_)),
      arc_fit_duration_(prometheus::BuildHistogram()
                            .Name("trm_arc_fit_duration_seconds")
                            .Help("Time of each successful ARC puzzle-embedding fit")
                            .Register(*registry_)),
      answers_(prometheus::BuildCounter()
                   .Name("trm_answers_total")
                   .Help("Answers by verification outcome and source")
                   .Register(*registry_)),
      model_info_(prometheus::BuildGauge()
                      .Name("trm_model_info")
                      .Help("Loaded models (value 1)")
                      .Register(*registry_)),
      health_serving_(prometheus::BuildGauge()
                          .Name("trm_health_serving")
                          .Help("1 when the server is SERVING, 0 otherwise")
                          .Register(*registry_)
                          .Add({})),
      stream_stalls_(prometheus::BuildCounter()
                         .Name("trm_stream_stalls_total")
                         .Help("SolveSteps streams cancelled: the client took no message for "
                               "--stream_stall_timeout_s")
                         .Register(*registry_)
                         .Add({})),
      stream_steps_merged_(prometheus::BuildCounter()
                               .Name("trm_stream_steps_merged_total")
                               .Help("SolveSteps step messages a slow reader did not get on "
                                     "their own (merged into a later message)")
                               .Register(*registry_)
                               .Add({})),
      malformed_requests_(prometheus::BuildCounter()
                              .Name("trm_malformed_requests_total")
                              .Help("Requests whose message did not parse (INVALID_ARGUMENT)")
                              .Register(*registry_)
                              .Add({})),
      requests_reset_(prometheus::BuildCounter()
                          .Name("trm_requests_reset_total")
                          .Help("Calls the client reset (RST_STREAM) before their request message "
                                "arrived: the HTTP/2 rapid-reset pattern")
                          .Register(*registry_)
                          .Add({})),
      protobuf_logs_(prometheus::BuildCounter()
                         .Name("trm_protobuf_log_messages_total")
                         .Help("Log lines of the protobuf library (most are parse errors), "
                               "written to the server log at most once a minute")
                         .Register(*registry_)
                         .Add({})),
      call_counts_collector_(std::make_shared<CallCountsCollector>()),
      http_stats_collector_(std::make_shared<HttpStatsCollector>()),
      grpc_connections_collector_(std::make_shared<GrpcConnectionsCollector>()),
      stats_collector_(std::make_shared<StatsCollector>()),
      process_collector_(MakeProcessCollector()) {}

void Metrics::SetStatsSource(StatsSource source) {
  static_cast<StatsCollector&>(*stats_collector_).Set(std::move(source));
}

void Metrics::RecordRequest(const std::string& method, const std::string& model,
                            const std::string& code, double seconds) {
  requests_.Add({{"method", method}, {"model", model}, {"code", code}}).Increment();
  request_duration_.Add({{"method", method}, {"model", model}}, LatencyBuckets()).Observe(seconds);
}

void Metrics::RecordAnswer(const std::string& model, const std::string& verification,
                           const std::string& source) {
  answers_.Add({{"model", model}, {"verification", verification}, {"source", source}}).Increment();
}

void Metrics::SetModelInfo(const engine::ModelInfo& info) {
  MutexLock lock(&mu_);
  auto it = model_info_series_.find(info.name);
  if (it != model_info_series_.end()) model_info_.Remove(it->second);
  auto& gauge = model_info_.Add({{"model", info.name},
                                 {"version", info.version},
                                 {"task", engine::TaskKindName(info.task)},
                                 {"device", info.device}});
  gauge.Set(1);
  model_info_series_[info.name] = &gauge;
}

void Metrics::RecordStalledStream() { stream_stalls_.Increment(); }

void Metrics::RecordMergedSteps(uint64_t steps) {
  stream_steps_merged_.Increment(static_cast<double>(steps));
}

void Metrics::RecordMalformedRequest() { malformed_requests_.Increment(); }

void Metrics::RecordResetBeforeRequest() { requests_reset_.Increment(); }

void Metrics::RecordProtobufLog() { protobuf_logs_.Increment(); }

void Metrics::SetCallCountsSource(CallCountsSource source) {
  static_cast<CallCountsCollector&>(*call_counts_collector_).Set(std::move(source));
}

void Metrics::SetHttpStatsSource(HttpStatsSource source) {
  static_cast<HttpStatsCollector&>(*http_stats_collector_).Set(std::move(source));
}

void Metrics::SetGrpcConnectionsSource(GrpcConnectionsSource source) {
  static_cast<GrpcConnectionsCollector&>(*grpc_connections_collector_).Set(std::move(source));
}

void Metrics::SetServing(bool serving) { health_serving_.Set(serving ? 1 : 0); }

// One model's per-request series, looked up once when the model is added.
class Metrics::ModelSeries final : public engine::ModelObserver {
 public:
  ModelSeries(Metrics& m, const std::string& model)
      : queue_wait_(m.queue_wait_.Add({{"model", model}}, LatencyBuckets())),
        compute_(m.compute_.Add({{"model", model}}, LatencyBuckets())),
        act_steps_(m.act_steps_.Add({{"model", model}}, StepBuckets())),
        views_(m.views_.Add({{"model", model}}, ViewBuckets())),
        q_head_(m.halt_reasons_.Add(
            {{"model", model}, {"reason", HaltReasonLabel(engine::HaltReason::kQHead)}})),
        max_steps_(m.halt_reasons_.Add(
            {{"model", model}, {"reason", HaltReasonLabel(engine::HaltReason::kMaxSteps)}})),
        fixed_steps_(m.halt_reasons_.Add(
            {{"model", model}, {"reason", HaltReasonLabel(engine::HaltReason::kFixedSteps)}})),
        fits_ok_(m.arc_fits_.Add({{"model", model}, {"outcome", "ok"}})),
        fits_failed_(m.arc_fits_.Add({{"model", model}, {"outcome", "error"}})),
        fit_cache_hits_(m.arc_fits_.Add({{"model", model}, {"outcome", "cache_hit"}})),
        fit_duration_(m.arc_fit_duration_.Add({{"model", model}}, FitBuckets())) {}

  void OnArcFit(const ArcFitEvent& event) override {
    if (event.cache_hit) {
      fit_cache_hits_.Increment();
    } else if (event.ok) {
      fits_ok_.Increment();
      fit_duration_.Observe(event.seconds);
    } else {
      fits_failed_.Increment();
    }
  }

  void OnRequestDone(const engine::Result& result) override {
    if (!result.status.ok()) return;
    queue_wait_.Observe(result.timing.queue_ms / 1000.0);
    compute_.Observe(result.timing.compute_ms / 1000.0);
    act_steps_.Observe(result.steps);
    views_.Observe(result.views);
    switch (result.halt_reason) {
      case engine::HaltReason::kQHead:
        q_head_.Increment();
        break;
      case engine::HaltReason::kMaxSteps:
        max_steps_.Increment();
        break;
      case engine::HaltReason::kFixedSteps:
        fixed_steps_.Increment();
        break;
    }
  }

 private:
  prometheus::Histogram& queue_wait_;
  prometheus::Histogram& compute_;
  prometheus::Histogram& act_steps_;
  prometheus::Histogram& views_;
  prometheus::Counter& q_head_;
  prometheus::Counter& max_steps_;
  prometheus::Counter& fixed_steps_;
  prometheus::Counter& fits_ok_;
  prometheus::Counter& fits_failed_;
  prometheus::Counter& fit_cache_hits_;
  prometheus::Histogram& fit_duration_;
};

std::shared_ptr<engine::ModelObserver> Metrics::ForModel(const std::string& model) {
  return std::make_shared<ModelSeries>(*this, model);
}

}  // namespace trm::server
