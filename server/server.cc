#include "server/server.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/sync.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "server/admin_service.h"
#include "server/checkpoint_dirs.h"
#include "server/health_service.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/metrics_http.h"
#include "server/solver_service.h"

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

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(const ServerOptions& options) : options_(options) {}

  ~ServerImpl() override {
    Drain();
    // No scrape may reach the engine once it is gone; then the engine's schedulers stop before
    // the services they call back into go away.
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

    if (!options_.metrics_listen.empty()) {
      auto http = MetricsHttpServer::Start(options_.metrics_listen, metrics_.collectables());
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

    solver_ = std::make_unique<SolverService>(engine_.get(), &metrics_,
                                              SolverServiceOptions{.halt = options_.halt});
    solver_->SetAccepting(false, "server is loading models");
    // A process-wide switch read by every ServerBuilder built after this point.
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    // Our own grpc.health.v1 (not gRPC's default one, which says SERVING as soon as the port
    // opens): NOT_SERVING from the first connection until every model is loaded.
    health_ = std::make_unique<HealthService>();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.listen, *creds, &port_);
    builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
    builder.SetMaxSendMessageSize(options_.max_message_bytes);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
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
    Log(LogLevel::kInfo, absl::StrCat("listening on ", DescribeListen(options_.listen, port_),
                                      options_.tls.cert_file.empty()        ? " (plaintext)"
                                      : options_.tls.client_ca_file.empty() ? " (TLS)"
                                                                            : " (mutual TLS)",
                                      admin_ ? ", Admin enabled" : ", Admin disabled (no token)"));
    if (admin_) {
      Log(LogLevel::kInfo, absl::StrCat("Admin reloads confined to [", absl::StrJoin(*roots, ", "),
                                        "] (--checkpoint_roots)"));
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
      for (const auto& info : engine_->ListModels()) {
        if (info.name != spec.name) continue;
        metrics_.SetModelInfo(info);
        Log(LogLevel::kInfo,
            absl::StrCat(
                "loaded model ", info.name, " (", engine::TaskKindName(info.task), ", version ",
                info.version, ", ", info.parameters, " parameters, seq_len ", info.seq_len,
                ", halt_max_steps ", info.halt_max_steps, ") on ", info.device, " from ", spec.path,
                " in ",
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
    solver_->SetAccepting(true);
    health_->SetServingStatus("", true);
    metrics_.SetServing(true);
    Log(LogLevel::kInfo, "SERVING");
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  int metrics_port() const override { return metrics_port_; }

  void Drain() override {
    MutexLock lock(&drain_mu_);
    if (drained_ || server_ == nullptr) return;
    drained_ = true;
    Log(LogLevel::kInfo, absl::StrCat("draining: finishing in-flight requests (up to ",
                                      absl::FormatDuration(options_.drain_timeout), ")"));
    solver_->SetAccepting(false, "server is shutting down");
    health_->Shutdown();  // Overall and every model, for good.
    metrics_.SetServing(false);
    const absl::Time start = absl::Now();
    engine_->Drain(options_.drain_timeout);
    // Engine requests are all answered; the last responses may still be on their way out. They
    // get what is left of the drain budget, and at least 5 s: on a loaded machine a fixed
    // moment cancelled answers the engine had already produced.
    const absl::Duration flush =
        std::max(absl::Seconds(5), options_.drain_timeout - (absl::Now() - start));
    server_->Shutdown(absl::ToChronoTime(absl::Now() + flush));
    server_->Wait();
    Log(LogLevel::kInfo,
        absl::StrCat("drained in ", absl::FormatDuration(
                                        absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))));
  }

 private:
  ServerOptions options_;
  Metrics metrics_;
  std::unique_ptr<MetricsHttpServer> metrics_http_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<SolverService> solver_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<HealthService> health_;  // Outlives server_ (its Watch streams end first).
  std::unique_ptr<grpc::Server> server_;
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
