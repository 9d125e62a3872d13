// The TRM gRPC server: the engine with its models, trm.v1.Solver (+ Admin with a token),
// grpc.health.v1 (overall "" and one entry per model name), server reflection, the same API over
// HTTP/JSON with the web page, and the Prometheus endpoint. `trm-server` fills ServerOptions from
// flags and runs Start / Drain.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "server/request_codec.h"

namespace trm::server {

struct TlsOptions {
  std::string cert_file;       // PEM certificate chain; TLS is on when set (with key_file).
  std::string key_file;        // PEM private key.
  std::string client_ca_file;  // PEM CA: when set, clients must present a certificate it signed.
};

struct ServerOptions {
  std::string listen = "0.0.0.0:50051";         // Port 0 picks a free port (see Server::port).
  std::string metrics_listen = "0.0.0.0:9464";  // Empty: no metrics endpoint.
  // HTTP/JSON API and the web page (server/http/http_api.h); empty: none.
  std::string http_listen = "0.0.0.0:8080";
  int http_threads = 64;                     // Connections served at once; more wait for a worker.
  size_t http_max_body_bytes = 1 << 20;      // Larger request bodies get 413.
  size_t http_max_arc_run_bytes = 16 << 20;  // POST /v1/arc:run's (a whole challenges file).
  size_t http_max_header_bytes = 64 << 10;   // Larger request heads get 431 (both HTTP ports).
  int http_max_connections_per_address = 0;  // Per client address; 0: no limit (both HTTP ports).
  // Connections the HTTP API port holds open at once (HttpServerOptions::max_connections); 0:
  // a quarter of the open-file limit, at most 4096 (the metrics port gets a sixteenth, at most
  // 64), so a flood of slow HTTP clients leaves most descriptors to gRPC.
  int http_max_connections = 0;
  std::vector<std::string> checkpoints;  // See ExpandCheckpoints; empty: none.
  // Folders Admin reloads may read from (see ConfineToRoots); empty: DefaultCheckpointRoots of
  // `checkpoints`.
  std::vector<std::string> checkpoint_roots;
  engine::EngineOptions engine;
  HaltDefaults halt;
  int max_message_bytes = 16 << 20;
  // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection may have open at once; more
  // wait in the client until one ends.
  int max_concurrent_streams = 100;
  // Every connection is closed (GOAWAY, then closed) this long after it opened, and the calls
  // still on it get the grace to finish (gRPC's max connection age): the one bound on a call
  // whose request message never arrives, which gRPC 1.51 holds in its core, where no service
  // sees it. Clients reconnect on GOAWAY by themselves. Zero: no limit.
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Minutes(5);
  // gRPC connections open at once (server/guards/grpc_connection_guard.h); 0: half the open-file
  // limit. Past it new connections are closed as they are accepted and the oldest idle ones make
  // room, so a connection burst never takes the last descriptor.
  int grpc_max_connections = 0;
  // A connection whose streams are reset (or fail) faster than this, over a second, is closed
  // (the HTTP/2 rapid reset); 0: no limit.
  int max_stream_resets_per_s = 500;
  // Largest request metadata (HTTP/2 header list) a call may carry; more: RESOURCE_EXHAUSTED.
  int max_metadata_bytes = 16 << 10;
  // How often freed heap memory is given back to the system (server/guards/memory_trimmer.h); zero:
  // never.
  absl::Duration malloc_trim_interval = absl::Seconds(10);
  // SolveSteps: see SolverServiceOptions.
  size_t stream_queue_steps = 8;
  absl::Duration stream_stall_timeout = absl::Seconds(30);
  // Probes of the gRPC port on a fresh connection (server/guards/watchdog.h); a zero interval turns
  // them off. After the probes fail, on_watchdog_failure is called once (on the watchdog's
  // thread; trm-server drains and exits non-zero).
  absl::Duration watchdog_interval = absl::Seconds(5);
  int watchdog_failures = 3;
  std::function<void(const absl::Status&)> on_watchdog_failure;
  TlsOptions tls;
  std::string admin_token;  // Empty: the Admin service is not registered.
  absl::Duration drain_timeout = absl::Seconds(30);
};

class Server {
 public:
  // Binds, starts serving (health NOT_SERVING, Solve UNAVAILABLE while loading), loads every
  // checkpoint, then turns SERVING. Errors name the flag or checkpoint at fault.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  virtual ~Server() = default;

  virtual int port() const = 0;          // The bound gRPC port.
  virtual int metrics_port() const = 0;  // 0 without a metrics endpoint.
  virtual int http_port() const = 0;     // 0 without the HTTP API.

  // Graceful stop: NOT_SERVING, new requests UNAVAILABLE, in-flight ones finish (up to the drain
  // timeout; the rest are answered UNAVAILABLE), then the HTTP and gRPC servers shut down (no
  // client, however slow, holds them). Returns within the drain timeout plus the time one batch
  // step takes to end (the engine stops between steps) plus at most a second for gRPC's own
  // shutdown (milliseconds when healthy). False when gRPC had not finished by then: the caller
  // must exit at once (std::_Exit), as destroying the server would wait for gRPC. Idempotent.
  virtual bool Drain() = 0;
};

// `listen` (HOST:PORT as configured) with the port actually bound (port 0 becomes the one the
// system chose), for logs.
std::string DescribeListen(const std::string& listen, int port);

}  // namespace trm::server
