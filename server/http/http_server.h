// One HTTP/1.1 listener of trm-server on cpp-httplib (Debian's libcpp-httplib 0.11): the JSON API
// and web page (--http_listen) and Prometheus /metrics (--metrics_listen) each run one.
//
// What bounds a client: the request body size (413 beyond it), per-read and per-write timeouts, a
// deadline for the whole request to arrive (headers and body; a client trickling bytes is
// disconnected at it, which per-read timeouts alone never do), keep-alive idle time and request
// count, and the worker pool (one worker per open connection, up to max_threads; more connections
// wait, and while they do, connections without a request in a handler get only `busy_deadline`).
// The listener holds at most max_connections open at once (server/http/http_connection_budget.h):
// at the limit it stops accepting, and idle connections (slow ones first) are closed early, after
// `budget_deadline`, to make room.
// A request is busy (HttpConnections) from routing until its response is written, so the
// deadlines never cut off one being answered; a request with a body becomes busy only once its
// handler has the whole body (PostWithBody), so a body trickled in slower than the deadline is cut
// there like slow headers are. Stop() never waits on a client: what is still open after the grace
// period is shut down.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/sync.h"
#include "server/http/http_address_share.h"
#include "server/http/http_connection_budget.h"
#include "server/http/http_connections.h"
#include "server/metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace trm::server {

struct HttpServerOptions {
  std::string flag = "--http_listen";  // Names the listener in errors.
  int max_threads = 64;
  int listen_backlog = 4096;  // Connections accepted by the kernel, waiting for the listener.
  // Connections open at once (served or waiting for a worker), each a descriptor; at least
  // max_threads.
  int max_connections = 1024;
  size_t max_body_bytes = 1 << 20;
  // The request line and headers together; past it the client gets 431 (HttpSocketStream).
  size_t max_head_bytes = 64 << 10;
  // Connections one client address may have served at once; past it 429 (HttpAddressShare).
  // 0: no limit.
  int max_connections_per_address = 0;
  absl::Duration read_timeout = absl::Seconds(5);   // Per read.
  absl::Duration write_timeout = absl::Seconds(5);  // Per write: a client that stops reading.
  // Whole seconds (httplib's unit): how long a connection may wait for its first or next request.
  int keep_alive_timeout_s = 5;
  int keep_alive_max_requests = 100;
  // From connect, or from the end of the previous response, until a handler has the request.
  // Longer than the keep-alive timeout, so only clients that send too slowly meet it.
  absl::Duration request_deadline = absl::Seconds(10);
  // While connections wait for a worker, the deadline drops to this: idle and slow connections
  // make way for new ones (a burst of silent connections cannot starve the server for long).
  absl::Duration busy_deadline = absl::Seconds(1);
  // While the connection budget is spent, or as many connections wait as there are workers,
  // the deadline drops further, to this.
  absl::Duration budget_deadline = absl::Milliseconds(250);
  absl::Duration check_interval =
      absl::Milliseconds(200);  // How often slow clients are looked for.
};

class HttpServer {
 public:
  // Binds `listen` (HOST:PORT, [V6]:PORT; port 0: any free port); serves after Start(). Errors
  // name the flag and the address.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Bind(const std::string& listen,
                                                          const HttpServerOptions& options);
  ~HttpServer();  // Stop(0).
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Register handlers here before Start(); POST routes through PostWithBody.
  httplib::Server& routes() { return *http_; }
  // A POST route whose handler sees the whole body, read here within max_body_bytes counted after
  // decoding: httplib bounds only a plain Content-Length, and would inflate a gzip body or buffer
  // a chunked one without limit. Over the limit: 413, and the connection closes (the rest of the
  // body is never read).
  // `max_body_bytes` (0: the server's) gives the route a limit of its own.
  using BodyHandler = std::function<void(const httplib::Request&, httplib::Response&)>;
  void PostWithBody(const std::string& pattern, BodyHandler handler, size_t max_body_bytes = 0);
  HttpConnections& connections() { return connections_; }
  int port() const { return port_; }
  HttpServerStats stats();

  // Serves on background threads; returns once the listener accepts.
  void Start();
  // Stops accepting and closes idle connections at once; requests inside a handler get up to
  // `grace` to finish; then every connection is shut down and the workers joined. Idempotent.
  void Stop(absl::Duration grace);

  // Implementation details follow.
 private:
  HttpServer(std::unique_ptr<httplib::Server> http, int port, const HttpServerOptions& options);
  void CloseSlowClients();

  std::unique_ptr<httplib::Server> http_;
  const int port_;
  const HttpServerOptions options_;
  size_t payload_max_ = options_.max_body_bytes;  // httplib's limit (PostWithBody); before Start.
  HttpConnections connections_;
  std::shared_ptr<std::atomic<int>> waiting_;  // Connections waiting for a worker.
  std::shared_ptr<HttpConnectionBudget> budget_;
  std::shared_ptr<HttpAddressShare> share_;
  std::atomic<int64_t> closed_deadline_{0};
  std::atomic<int64_t> closed_budget_{0};
  std::thread listener_;
  std::atomic<bool> listening_done_{false};
  std::thread watchdog_;  // CloseSlowClients.
  Mutex mu_;
  CondVar stop_;  // Signalled when stopping_ is set.
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// Splits HOST:PORT ("0.0.0.0:8080", "[::]:8080", ":8080" for every address); `flag` names the
// flag in errors.
absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen,
                                                        const std::string& flag);

}  // namespace trm::server
