#include "server/http/http_server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/http/http_address_share.h"
#include "server/http/http_socket_stream.h"
#include "server/http/http_worker_pool.h"

namespace trm::server {
namespace {

// Set by the logger (once a response is written) when the response ends its connection: one of
// ours that says Connection: close (a refused or cut-short body, bad framing) must, or what
// follows would be read as the next request.
thread_local bool response_ends_connection = false;

// httplib::Server closes its listening socket only in stop(), which does nothing unless it is
// serving; a server bound but never started must close it here.
class Listener final : public httplib::Server {
 public:
  void CloseUnstarted() {
    const int fd = svr_sock_.exchange(-1);
    if (fd >= 0) close(fd);
  }
  // httplib 0.11 listens with a backlog of 5: connections past it in a burst wait for the
  // client's SYN retransmit (1 s, then 3 s, ...). listen(2) again on the bound socket sets the
  // queue's length (the kernel caps it at net.core.somaxconn).
  bool SetBacklog(int backlog) { return ::listen(svr_sock_.load(), backlog) == 0; }
  void SetMaxHeadBytes(size_t bytes) { max_head_bytes_ = bytes; }
  void SetAddressShare(std::shared_ptr<HttpAddressShare> share) { share_ = std::move(share); }

 private:
  // httplib's own loop over a connection's requests (process_server_socket), with one
  // HttpSocketStream for all of them in place of a SocketStream per request: the request head is
  // bounded, and what a client sent ahead of one request is kept for the next.
  bool process_and_close_socket(int sock) override {
    const auto duration = [](time_t s, time_t us) {
      return absl::Seconds(s) + absl::Microseconds(us);
    };
    HttpSocketStream stream(sock, duration(read_timeout_sec_, read_timeout_usec_),
                            duration(write_timeout_sec_, write_timeout_usec_), max_head_bytes_);
    std::string address;
    int port = 0;
    stream.get_remote_ip_and_port(address, port);
    const bool admitted = share_->TryAcquire(address);
    if (!admitted) {
      stream.Refuse("429 Too Many Requests",
                    absl::StrCat("connections: ", address, " already has ", share_->limit(),
                                 " connections being served, this server's limit per client "
                                 "address (--http_max_connections_per_address)\n"));
    }
    bool ok = false;
    for (size_t left = admitted ? keep_alive_max_count_ : 0;
         left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
      if (!stream.WaitForRequest(absl::Seconds(keep_alive_timeout_sec_))) break;
      stream.BeginRequest();
      bool connection_closed = false;
      response_ends_connection = false;
      ok = process_request(stream, /*close_connection=*/left == 1, connection_closed,
                           [&stream](httplib::Request&) { stream.HeadDone(); });
      if (!ok || connection_closed || response_ends_connection) break;
    }
    if (admitted) share_->Release(address);
    // After a refusal; a 429 lingers a moment only: this worker is the share's to protect, not
    // the refused client's.
    if (stream.refused()) {
      stream.LingerBeforeClose(admitted ? absl::Seconds(1) : absl::Milliseconds(20),
                               admitted ? 1 << 20 : 64 << 10);
    }
    shutdown(sock, SHUT_RDWR);
    close(sock);
    return ok;
  }

  size_t max_head_bytes_ = 64 << 10;
  std::shared_ptr<HttpAddressShare> share_;  // Always set (limit 0: every address admitted).
};

// The request this worker thread is serving, marked busy in HttpConnections from routing until
// its response is written (a worker serves one request at a time).
thread_local std::shared_ptr<void> current_request;

// Whether a body follows the headers (httplib reads it after routing, inside the handler).
bool ExpectsBody(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

// Why a request that changes something (not GET, HEAD or OPTIONS) comes from a page of another
// origin, or empty. A browser lets any page POST a "simple" request (text/plain, a form) to any
// address, loopback included, without asking the server first; it only hides the answer. No
// route here sends CORS headers, so no page elsewhere can use an answer: such a request is only
// ever work done for nobody, or a forged one. Clients that are not browsers send no Origin.
std::string CrossOrigin(const httplib::Request& req) {
  if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS") return "";
  if (!req.has_header("Origin")) return "";
  const std::string origin = req.get_header_value("Origin");
  absl::string_view host_port = origin;
  for (absl::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWithIgnoreCase(host_port, scheme)) host_port.remove_prefix(scheme.size());
  }
  const std::string host = req.get_header_value("Host");
  if (host_port != origin && !host.empty() && absl::EqualsIgnoreCase(host_port, host)) return "";
  return absl::StrCat("cross-origin request refused: Origin ", origin, " is not this server (Host ",
                      host, ")");
}

// Answers `status` with `why` and ends the connection: the request's body, if any, is never read.
httplib::Server::HandlerResponse Refuse(httplib::Response& res, int status, std::string why) {
  res.status = status;
  res.set_header("Connection", "close");
  res.set_content(std::move(why), "text/plain");
  return httplib::Server::HandlerResponse::Handled;
}

std::pair<time_t, time_t> SecondsAndMicros(absl::Duration d) {
  const int64_t us = absl::ToInt64Microseconds(d);
  return {static_cast<time_t>(us / 1000000), static_cast<time_t>(us % 1000000)};
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen,
                                                        const std::string& flag) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", listen, ": not HOST:PORT (e.g. 0.0.0.0:8080)"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, port);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Bind(const std::string& listen,
                                                             const HttpServerOptions& options) {
  auto address = ParseListen(listen, options.flag);
  if (!address.ok()) return address.status();
  if (options.request_deadline <= absl::Seconds(options.keep_alive_timeout_s)) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.flag, ": the request deadline must be longer than the keep-alive timeout"));
  }
  auto http = std::make_unique<Listener>();
  const auto [read_s, read_us] = SecondsAndMicros(options.read_timeout);
  const auto [write_s, write_us] = SecondsAndMicros(options.write_timeout);
  http->set_read_timeout(read_s, read_us);
  http->set_write_timeout(write_s, write_us);
  http->set_keep_alive_timeout(options.keep_alive_timeout_s);
  http->set_keep_alive_max_count(options.keep_alive_max_requests);
  http->set_payload_max_length(options.max_body_bytes);
  http->SetMaxHeadBytes(options.max_head_bytes);
  auto share = std::make_shared<HttpAddressShare>(options.max_connections_per_address);
  http->SetAddressShare(share);
  http->set_tcp_nodelay(true);  // Small server-sent events go out at once.
  // httplib's default sets SO_REUSEPORT, with which a second server binds the same port and the
  // kernel splits connections between the two; SO_REUSEADDR alone makes that an error.
  http->set_socket_options([](int fd) {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  });
  auto waiting = std::make_shared<std::atomic<int>>(0);
  const int threads = options.max_threads;
  auto budget = std::make_shared<HttpConnectionBudget>(std::max(options.max_connections, threads));
  http->new_task_queue = [threads, waiting, budget] {
    return new HttpWorkerPool(threads, waiting, budget);
  };
  errno = 0;
  const auto& [host, want] = *address;
  const int port =
      want == 0 ? http->bind_to_any_port(host) : (http->bind_to_port(host, want) ? want : -1);
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat(options.flag, " ", listen, ": cannot listen",
                     errno != 0 ? absl::StrCat(" (", strerror(errno), ")") : ""));
  }
  if (!http->SetBacklog(options.listen_backlog)) {
    return absl::UnavailableError(
        absl::StrCat(options.flag, " ", listen, ": cannot listen (", strerror(errno), ")"));
  }
  auto server = std::unique_ptr<HttpServer>(new HttpServer(std::move(http), port, options));
  server->waiting_ = std::move(waiting);
  server->budget_ = std::move(budget);
  server->share_ = std::move(share);
  return server;
}

HttpServer::HttpServer(std::unique_ptr<httplib::Server> http, int port,
                       const HttpServerOptions& options)
    : http_(std::move(http)), port_(port), options_(options), connections_(port) {
  // A request inside a handler or being answered is never a slow client's, however long its
  // connection waited for a worker before: CloseSlowClients must leave it alone. httplib calls
  // the logger once the response is written.
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    current_request.reset();
    // Two lengths, or a length beside chunked coding, frame the body two ways: a proxy in front
    // may read it one way and this server the other (request smuggling, RFC 9112 6.3).
    const size_t lengths = req.get_header_value_count("Content-Length");
    if (lengths > 1 || (lengths == 1 && req.has_header("Transfer-Encoding"))) {
      return Refuse(res, 400,
                    lengths > 1 ? "request framing: more than one Content-Length header"
                                : "request framing: both Content-Length and Transfer-Encoding");
    }
    if (std::string why = CrossOrigin(req); !why.empty()) return Refuse(res, 403, std::move(why));
    // A request with a body is busy from when its handler has the body (PostWithBody); until
    // then the deadlines apply to it as to slow headers.
    if (!ExpectsBody(req)) current_request = connections_.Busy(req.remote_addr, req.remote_port);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_->set_logger([](const httplib::Request&, const httplib::Response& res) {
    current_request.reset();
    // The response is written; the connection's loop (Listener) ends it after this.
    if (res.get_header_value("Connection") == "close") response_ends_connection = true;
  });
}

HttpServer::~HttpServer() { Stop(absl::ZeroDuration()); }

void HttpServer::PostWithBody(const std::string& pattern, BodyHandler handler,
                              size_t max_body_bytes) {
  const size_t limit = max_body_bytes > 0 ? max_body_bytes : options_.max_body_bytes;
  // httplib refuses a Content-Length over its one limit before any route sees it: that limit is
  // the largest route's, and each route counts its own here.
  if (limit > payload_max_) {
    payload_max_ = limit;
    http_->set_payload_max_length(limit);
  }
  http_->Post(pattern, [limit, handler = std::move(handler)](const httplib::Request& req,
                                                             httplib::Response& res,
                                                             const httplib::ContentReader& read) {
    std::string body;
    bool over = false;
    // httplib hands over the body as it arrives, de-chunked and inflated, a piece at a time.
    const bool whole = read([&](const char* data, size_t size) {
      over = size > limit - body.size();
      if (!over) body.append(data, size);
      return !over;
    });
    if (!whole) {
      res.set_header("Connection", "close");  // The rest of the body is still on the wire.
      if (over || res.status == 413) {
        res.status = 413;
        res.set_content(absl::StrCat("request body: larger than the server's limit of ", limit,
                                     " bytes (counted after Content-Encoding and chunking)"),
                        "text/plain");
      } else {
        res.status = 400;
        res.set_content("request body: cut short or badly encoded", "text/plain");
      }
      return;
    }
    httplib::Request complete = req;
    complete.body = std::move(body);
    handler(complete, res);
  });
}

void HttpServer::Start() {
  {
    MutexLock lock(&mu_);
    if (started_ || stopping_) return;
    started_ = true;
  }
  listener_ = std::thread([this] {
    http_->listen_after_bind();
    listening_done_ = true;
  });
  // stop() is a no-op until httplib marks itself running; Stop() must not race ahead of that.
  while (!http_->is_running() && !listening_done_) std::this_thread::yield();
  watchdog_ = std::thread([this] { CloseSlowClients(); });
}

HttpServerStats HttpServer::stats() {
  return {.open = budget_->open(),
          .limit = budget_->limit(),
          .accept_waits = budget_->waits(),
          .closed_deadline = closed_deadline_.load(),
          .closed_budget = closed_budget_.load(),
          .closed_address_share = share_->refused()};
}

void HttpServer::CloseSlowClients() {
  for (;;) {
    // Every check_interval, and at once when the listener waits for room in the budget.
    const bool full = budget_->WaitUntilFull(absl::Now() + options_.check_interval);
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
    }
    // The more connections wait, the sooner an idle or slow one makes way: as many waiting as
    // there are workers (a flood of slow clients) counts as a spent budget.
    const bool pressed = full || *waiting_ >= options_.max_threads;
    const absl::Duration deadline = pressed         ? options_.budget_deadline
                                    : *waiting_ > 0 ? options_.busy_deadline
                                                    : options_.request_deadline;
    const int closed = connections_.CloseSlow(deadline, /*shed_partial=*/pressed);
    (pressed ? closed_budget_ : closed_deadline_) += closed;
    // Pressed: look again soon (a slow client should not hold a worker for long), but not in a
    // busy loop.
    if (pressed) {
      MutexLock lock(&mu_);
      stop_.WaitUntil(&mu_,
                      absl::Now() + std::min(options_.check_interval, absl::Milliseconds(50)));
    }
  }
}

void HttpServer::Stop(absl::Duration grace) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_.SignalAll();
  budget_->Close();  // The listener may be waiting for room; and the sweep for the budget.
  if (!listener_.joinable()) {
    static_cast<Listener*>(http_.get())->CloseUnstarted();
    return;
  }
  http_->stop();  // The listener closes; httplib then joins the workers.
  connections_.CloseIdle();
  const absl::Time end = absl::Now() + grace;
  while (connections_.BusyCount() > 0 && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(10));
    connections_.CloseIdle();  // Those whose response has just gone out.
  }
  // Every worker waits on a socket, or polls HttpConnections::PeerGone: shutting the sockets down
  // ends them all.
  while (!listening_done_) {
    connections_.CloseIdle(/*busy_too=*/true);
    absl::SleepFor(absl::Milliseconds(20));
  }
  listener_.join();
  watchdog_.join();
}

}  // namespace trm::server
