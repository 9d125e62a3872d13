#include "server/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/sync.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "server/checkpoint_dirs.h"
#include "server/grpc/admin_service.h"
#include "server/grpc/health_service.h"
#include "server/grpc/solver_service.h"
#include "server/guards/grpc_call_counts.h"
#include "server/guards/grpc_connection_guard.h"
#include "server/guards/malformed_request_interceptor.h"
#include "server/guards/memory_trimmer.h"
#include "server/guards/metadata_limit.h"
#include "server/guards/watchdog.h"
#include "server/http/http_api.h"
#include "server/http/http_metrics.h"
#include "server/http/http_server.h"
#include "server/http/http_web.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/protobuf_log.h"

namespace trm::server {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const TlsOptions& tls) {
  if (tls.cert_file.empty() && tls.key_file.empty()) {
    if (!tls.client_ca_file.empty()) {
      return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  auto cert = ReadPem(tls.cert_file, "--tls_cert");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(tls.key_file, "--tls_key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file.empty()) {
    auto ca = ReadPem(tls.client_ca_file, "--tls_client_ca");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

// Transport limits against hostile clients (issue 22, docs/reliability.md): what gRPC 1.51's
// channel arguments allow.
void AddTransportLimits(const ServerOptions& options, grpc::ServerBuilder* builder) {
  // Request metadata: gRPC's own limit only bounds memory; the services apply
  // --max_metadata_bytes (server/guards/metadata_limit.h says why).
  builder->AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                              std::max(kTransportMetadataLimit, options.max_metadata_bytes));
  // A connection must finish its handshake (TLS, HTTP/2 preface and SETTINGS) within 20 s
  // (gRPC's default: 120 s), so connections that never start cannot hold descriptors for long.
  builder->AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 20'000);
  // A peer that vanished during a call without closing (a cable pulled, a NAT entry dropped) is
  // found by a ping every minute unanswered for 20 s, instead of gRPC's default of two hours;
  // the pings go on while no data moves (gRPC stops after two by default).
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A call whose request message never comes waits in gRPC 1.51's core for it (unary and
  // server-streaming methods get their handler only with the message), unseen by any service
  // and without limit: 20,000 such calls over 200 connections held 239 MB. The connection's age
  // bounds them, and every other call, to the age plus the grace.
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder->AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age)));
    builder->AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age_grace)));
  }
}

// The open-file soft limit, which every connection counts against (raised by trm-server's main
// to the hard limit, server/guards/open_file_limit.h).
int OpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
}

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(const ServerOptions& options) : options_(options) {}

  ~ServerImpl() override {
    if (!Drain()) std::_Exit(1);  // Destroying gRPC's server would wait for its calls.
    // No scrape may reach the engine once it is gone; then the engine's schedulers stop before
    // the services they call back into go away.
    if (metrics_http_) metrics_http_->Stop(absl::ZeroDuration());
    http_.reset();
    metrics_http_.reset();
    engine_.reset();
  }

  absl::Status Init() {
    auto creds = Credentials(options_.tls);
    if (!creds.ok()) return creds.status();
    auto specs = ExpandCheckpoints(options_.checkpoints);
    if (!specs.ok()) return specs.status();
    auto roots = CanonicalRoots(options_.checkpoint_roots.empty()
                                    ? DefaultCheckpointRoots(options_.checkpoints)
                                    : options_.checkpoint_roots);
    if (!roots.ok()) return roots.status();

    const int files = OpenFileLimit();
    if (!options_.metrics_listen.empty()) {
      auto http = StartMetricsHttp(options_.metrics_listen, metrics_.collectables(),
                                   std::clamp(files / 8, 16, 1024), options_.http_max_header_bytes,
                                   options_.http_max_connections_per_address);
      if (!http.ok()) return http.status();
      metrics_http_ = std::move(*http);
      metrics_port_ = metrics_http_->port();
    }

    auto engine = engine::Engine::Create(options_.engine);
    if (!engine.ok()) return engine.status();
    engine_ = std::move(*engine);
    engine_->SetObserver(&metrics_);
    metrics_.SetStatsSource([engine = engine_.get()] {
      std::vector<std::pair<std::string, engine::ModelStats>> out;
      for (const auto& info : engine->ListModels())
        out.emplace_back(info.name, engine->Stats(info.name));
      return out;
    });
    metrics_.SetServing(false);

    metrics_.SetCallCountsSource(GrpcServerCallCounts);
    solve_context_ = std::make_unique<SolveContext>(engine_.get(), &metrics_, options_.halt);
    solve_context_->SetAccepting(false, "server is loading models");
    solver_ = std::make_unique<SolverService>(
        solve_context_.get(),
        SolverServiceOptions{
            .stream_queue_steps = options_.stream_queue_steps,
            .stream_stall_timeout = options_.stream_stall_timeout,
            .max_metadata_bytes = static_cast<size_t>(options_.max_metadata_bytes)});
    // A process-wide switch read by every ServerBuilder built after this point.
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    // Our own grpc.health.v1 (not gRPC's default one, which says SERVING as soon as the port
    // opens): NOT_SERVING from the first connection until every model is loaded.
    health_ = std::make_unique<HealthService>();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.listen, *creds, &port_);
    auto guard = GrpcConnectionGuard::Make(
        {.max_connections = options_.grpc_max_connections > 0 ? options_.grpc_max_connections
                                                              : std::max(files / 2, 16),
         .max_resets_per_second = options_.max_stream_resets_per_s});
    if (guard.ok()) {
      grpc_guard_ = std::move(*guard);
      grpc_guard_->AddTo(&builder);
    } else {
      Log(LogLevel::kWarning,
          absl::StrCat("gRPC connections are not limited: ", guard.status().message()));
    }
    builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
    builder.SetMaxSendMessageSize(options_.max_message_bytes);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
    AddTransportLimits(options_, &builder);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(MakeMalformedRequestInterceptorFactory(&metrics_));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    builder.RegisterService(solver_.get());
    builder.RegisterService(health_.get());
    if (!options_.admin_token.empty()) {
      admin_ =
          std::make_unique<AdminService>(engine_.get(), &metrics_, options_.admin_token, *roots);
      builder.RegisterService(admin_.get());
    }
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(absl::StrCat("--listen ", options_.listen, ": cannot listen"));
    }
    if (grpc_guard_) {
      grpc_guard_->Start(port_);
      metrics_.SetGrpcConnectionsSource([guard = grpc_guard_.get()] { return guard->stats(); });
    }
    if (!options_.http_listen.empty()) {
      HttpServerOptions http_options;
      http_options.max_threads = options_.http_threads;
      http_options.max_body_bytes = options_.http_max_body_bytes;
      http_options.max_head_bytes = options_.http_max_header_bytes;
      http_options.max_connections_per_address = options_.http_max_connections_per_address;
      http_options.max_connections = options_.http_max_connections > 0
                                         ? options_.http_max_connections
                                         : std::clamp(files / 4, 16, 4096);
      auto http = HttpServer::Bind(options_.http_listen, http_options);
      if (!http.ok()) return http.status();
      http_ = std::move(*http);
      http_api_ = std::make_unique<HttpApi>(solve_context_.get(), http_.get(),
                                            options_.http_max_arc_run_bytes);
      RegisterWebPage(http_->routes());
      http_->Start();
    }
    metrics_.SetHttpStatsSource([api = http_.get(), scrapes = metrics_http_.get()] {
      std::vector<std::pair<std::string, HttpServerStats>> out;
      if (api != nullptr) out.emplace_back("http", api->stats());
      if (scrapes != nullptr) out.emplace_back("metrics", scrapes->stats());
      return out;
    });
    Log(LogLevel::kInfo, absl::StrCat("listening on ", DescribeListen(options_.listen, port_),
                                      options_.tls.cert_file.empty()        ? " (plaintext)"
                                      : options_.tls.client_ca_file.empty() ? " (TLS)"
                                                                            : " (mutual TLS)",
                                      admin_ ? ", Admin enabled" : ", Admin disabled (no token)"));
    if (admin_) {
      Log(LogLevel::kInfo, absl::StrCat("Admin reloads confined to [", absl::StrJoin(*roots, ", "),
                                        "] (--checkpoint_roots)"));
    }
    if (http_) {
      Log(LogLevel::kInfo,
          absl::StrCat("http on http://", DescribeListen(options_.http_listen, http_->port()),
                       "/ (JSON API and web page; at most ", http_->stats().limit,
                       " connections open)"));
    }
    if (metrics_http_) {
      Log(LogLevel::kInfo,
          absl::StrCat("metrics on http://", DescribeListen(options_.metrics_listen, metrics_port_),
                       "/metrics"));
    }

    for (const auto& spec : *specs) {
      health_->SetServingStatus(spec.name, false);
      const absl::Time start = absl::Now();
      if (absl::Status s = engine_->LoadModel(spec.name, spec.path); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("loading model ", spec.name, " from ", spec.path,
                                                   ": ", s.message()));
      }
      if (absl::StatusOr<engine::ModelInfo> loaded = engine_->GetModel(spec.name); loaded.ok()) {
        const engine::ModelInfo& info = *loaded;
        metrics_.SetModelInfo(info);
        Log(LogLevel::kInfo,
            absl::StrCat(
                "loaded model ", info.name, " (", engine::TaskKindName(info.task), ", version ",
                info.version, ", ", info.parameters, " parameters, seq_len ", info.seq_len,
                ", halt_max_steps ", info.halt_max_steps, ") on ", info.device,
                info.cpu_kernels.empty() ? "" : absl::StrCat(" (", info.cpu_kernels, " kernels)"),
                " from ", spec.path, " in ",
                absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))));
      }
      health_->SetServingStatus(spec.name, true);
    }
    if (specs->empty()) Log(LogLevel::kWarning, "no checkpoints to load: serving no models");
    std::vector<std::string> defaults;
    for (const auto& info : engine_->ListModels()) {
      if (info.is_default)
        defaults.push_back(absl::StrCat(engine::TaskKindName(info.task), "=", info.name));
    }
    Log(LogLevel::kInfo,
        absl::StrCat("defaults: ", defaults.empty() ? "none" : absl::StrJoin(defaults, ", ")));
    solve_context_->SetAccepting(true);
    health_->SetServingStatus("", true);
    metrics_.SetServing(true);
    Log(LogLevel::kInfo, "SERVING");
    StartWatchdog();
    if (options_.malloc_trim_interval > absl::ZeroDuration())
      trimmer_ = std::make_unique<MemoryTrimmer>(options_.malloc_trim_interval);
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  // How long past the drain deadline gRPC may take to finish its calls (it cancels them at the
  // deadline; a healthy server is done in milliseconds).
  static constexpr absl::Duration kShutdownGrace = absl::Seconds(1);
  // How long no call may have been refused before gRPC's Shutdown (see Drain).
  static constexpr absl::Duration kRefusalQuiet = absl::Milliseconds(300);
  // gRPC's Shutdown deadline when no call is in flight (see Drain).
  static constexpr absl::Duration kIdleShutdown = absl::Milliseconds(200);
  // The part of the drain timeout kept for writing the last answers when the engine needs all
  // the rest (when it finishes early, they get everything left): a quarter, at most 2 s, so the
  // answers of the requests it stopped still reach their callers on a loaded machine.
  static absl::Duration DrainReserve(absl::Duration drain_timeout) {
    return std::min(drain_timeout / 4, absl::Seconds(2));
  }

  void StartWatchdog() {
    if (options_.watchdog_interval <= absl::ZeroDuration()) return;
    const ProbeAddress address = ProbeAddressFor(options_.listen, port_);
    // A port that accepts but is slow to answer gets four times the failures before a restart.
    auto probe = std::make_shared<LivenessProbe>(address, options_.tls.cert_file.empty(),
                                                 4 * options_.watchdog_failures);
    watchdog_ = std::make_unique<Watchdog>(
        WatchdogOptions{.interval = options_.watchdog_interval,
                        .failures = options_.watchdog_failures},
        [probe](absl::Duration timeout, const std::atomic<bool>& stopping) {
          return (*probe)(timeout, stopping);
        },
        [this](const absl::Status& status) {
          Log(LogLevel::kError,
              absl::StrCat("watchdog: ", options_.watchdog_failures,
                           " probes in a row found the gRPC port not answering on a new "
                           "connection (last: ",
                           status.message(),
                           "); gRPC 1.51 does not recover from this "
                           "(CVE-2023-4785 and the like): stopping so the process is replaced"));
          if (options_.on_watchdog_failure) options_.on_watchdog_failure(status);
        });
    StartHttpReadiness();
    Log(LogLevel::kInfo,
        absl::StrCat("watchdog: a new connection to ", address.target(), " every ",
                     absl::FormatDuration(options_.watchdog_interval), ", ",
                     options_.tls.cert_file.empty()
                         ? "a health check (when it fails: whether the port still accepts)"
                         : "accepted (TLS)",
                     "; stopping after ", options_.watchdog_failures, " failures in a row"));
  }
  // Readiness covers the HTTP port too: the health entry "" (what the Kubernetes readiness
  // probe and load balancers check over gRPC) turns NOT_SERVING while GET /healthz on a new
  // connection to the HTTP port fails --watchdog_failures times in a row (every worker held,
  // the listener gone), and SERVING again once it answers. The process is not stopped for it:
  // gRPC still serves, and a client that cannot get an HTTP worker is no reason for a restart.
  void StartHttpReadiness() {
    if (!http_) return;
    const ProbeAddress address = ProbeAddressFor(options_.http_listen, http_->port());
    http_readiness_ = std::make_unique<Watchdog>(
        WatchdogOptions{.interval = options_.watchdog_interval,
                        .failures = options_.watchdog_failures,
                        .name = "readiness"},
        [address](absl::Duration timeout, const std::atomic<bool>& stopping) {
          return ProbeHttpOnFreshConnection(address.host, address.port, "/healthz", timeout,
                                            stopping);
        },
        [this](const absl::Status& status) {
          if (draining_.load()) return;
          Log(LogLevel::kWarning,
              absl::StrCat("readiness: ", options_.watchdog_failures,
                           " probes in a row found the HTTP port not answering (last: ",
                           status.message(), "): health NOT_SERVING until it answers again"));
          health_->SetServingStatus("", false);
          metrics_.SetServing(false);
        },
        [this] {
          if (draining_.load()) return;
          Log(LogLevel::kInfo, "readiness: the HTTP port answers again: SERVING");
          health_->SetServingStatus("", true);
          metrics_.SetServing(true);
        });
    Log(LogLevel::kInfo,
        absl::StrCat("readiness: GET /healthz on a new connection to ", address.target(), " every ",
                     absl::FormatDuration(options_.watchdog_interval),
                     "; health NOT_SERVING after ", options_.watchdog_failures,
                     " failures in a row, SERVING again once it answers"));
  }
  int metrics_port() const override { return metrics_port_; }
  int http_port() const override { return http_ ? http_->port() : 0; }

  bool Drain() override {
    MutexLock lock(&drain_mu_);
    if (drained_ || server_ == nullptr) return true;
    drained_ = true;
    draining_.store(true);
    if (http_readiness_) http_readiness_->Stop();  // Before health goes NOT_SERVING for good.
    Log(LogLevel::kInfo, absl::StrCat("draining: finishing in-flight requests (up to ",
                                      absl::FormatDuration(options_.drain_timeout), ")"));
    solve_context_->SetAccepting(false, "server is shutting down");
    health_->Shutdown();  // Overall and every model, for good.
    metrics_.SetServing(false);
    const absl::Time start = absl::Now();
    if (watchdog_) watchdog_->Stop();
    const absl::Time deadline = start + options_.drain_timeout;
    // The engine gets the drain timeout less a reserve in which the answers of the requests it
    // stopped are written; HTTP and gRPC then end what is still open at the deadline.
    engine_->Drain(options_.drain_timeout - DrainReserve(options_.drain_timeout));
    // gRPC 1.51 kills a call that arrives once Shutdown has begun as CANCELLED, not UNAVAILABLE,
    // and a caller that just got one of the last answers sends its next call at once (2 in 12 runs
    // of FaultsTest.SigtermUnderLoad on a loaded machine). Until Shutdown such calls are refused
    // UNAVAILABLE by the service, so Shutdown waits until none has been refused for kRefusalQuiet,
    // within the engine's share of the drain. (Shutdown first, before the engine's drain, was
    // worse: every call still on its way in at the signal was CANCELLED.)
    const absl::Time quiet_until = deadline - DrainReserve(options_.drain_timeout);
    while (absl::Now() < quiet_until &&
           absl::Now() - solve_context_->LastRefusal() < kRefusalQuiet) {
      absl::SleepFor(kRefusalQuiet / 4);
    }
    // gRPC's Shutdown waits for every connection to close until the deadline it is given, idle
    // ones too, and clients keep their channels open between calls: three idle channels made
    // every drain take the whole drain timeout. The last answers are written within the
    // engine's share; once no call is in flight, Shutdown gets a short deadline (a call coming
    // in now is refused UNAVAILABLE at once, or CANCELLED by gRPC once Shutdown has begun).
    while (absl::Now() < quiet_until && GrpcServerCallsInFlight() > 0) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    const absl::Time shutdown_deadline =
        GrpcServerCallsInFlight() > 0 ? deadline : std::min(deadline, absl::Now() + kIdleShutdown);
    // gRPC's Shutdown and Wait return once it has destroyed every call. After a flood of reset
    // streams gRPC 1.51 works through the calls it queued at its own pace (45 s after 100,000
    // resets, issue 22), so they run on a thread of their own and are waited for until the
    // deadline plus kShutdownGrace; past that the caller exits without them.
    auto done = std::make_shared<absl::Notification>();
    std::thread([server = server_.get(), shutdown_deadline, done] {
      server->Shutdown(absl::ToChronoTime(std::max(shutdown_deadline, absl::Now())));
      server->Wait();
      done->Notify();
    }).detach();
    // Meanwhile HTTP: every HTTP connection closes by the deadline, however slow its client.
    if (http_) http_->Stop(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    const bool finished =
        done->WaitForNotificationWithDeadline(std::max(deadline, absl::Now()) + kShutdownGrace);
    const std::string took =
        absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1)));
    if (!finished) {
      Log(LogLevel::kError, absl::StrCat("gRPC has not finished its calls ", took,
                                         " into the drain; exiting without waiting for them"));
      return false;
    }
    Log(LogLevel::kInfo, absl::StrCat("drained in ", took));
    return true;
  }

 private:
  ServerOptions options_;
  Metrics metrics_;
  // protobuf's parse errors (one per malformed request) go to a counter, not one line each.
  ProtobufLogRouter protobuf_log_{&metrics_, absl::Minutes(1)};
  std::unique_ptr<HttpServer> metrics_http_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<SolveContext> solve_context_;  // The solve path's, for gRPC and HTTP.
  std::unique_ptr<SolverService> solver_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<HealthService> health_;  // Outlives server_ (its Watch streams end first).
  // Outlives server_: gRPC calls into it for each connection it accepts.
  std::unique_ptr<GrpcConnectionGuard> grpc_guard_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpServer> http_;  // Stopped (Drain, destructor) before http_api_ goes.
  std::unique_ptr<HttpApi> http_api_;
  std::unique_ptr<Watchdog> watchdog_;
  std::unique_ptr<Watchdog> http_readiness_;  // StartHttpReadiness.
  std::atomic<bool> draining_{false};
  std::unique_ptr<MemoryTrimmer> trimmer_;
  int port_ = 0;
  int metrics_port_ = 0;
  Mutex drain_mu_;
  bool drained_ ABSL_GUARDED_BY(drain_mu_) = false;
};

}  // namespace

std::string DescribeListen(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  return absl::StrCat(colon == std::string::npos ? listen : listen.substr(0, colon), ":", port);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  auto server = std::make_unique<ServerImpl>(options);
  if (absl::Status s = server->Init(); !s.ok()) return s;
  return server;
}

}  // namespace trm::server
