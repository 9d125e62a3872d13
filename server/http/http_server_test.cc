#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace trm::server {
namespace {

// A raw loopback connection, for clients httplib::Client will not play (slow, silent, rude).
class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& s) { return send(fd_, s.data(), s.size(), MSG_NOSIGNAL) > 0; }
  // Everything the server sends until it closes or `limit` passes.
  std::string ReadAll(absl::Duration limit) {
    std::string out;
    const absl::Time end = absl::Now() + limit;
    char buf[4096];
    while (absl::Now() < end) {
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // True once the server has closed its side (read returns 0 or an error), waiting up to `limit`.
  bool ClosedWithin(absl::Duration limit) {
    const absl::Time end = absl::Now() + limit;
    char buf[4096];
    while (absl::Now() < end) {
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 50) > 0) {
        const ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return true;
      }
    }
    return false;
  }

 private:
  int fd_;
  bool connected_ = false;
};

HttpServerOptions FastOptions() {
  HttpServerOptions o;
  o.flag = "--test_listen";
  o.keep_alive_timeout_s = 1;
  o.request_deadline = absl::Milliseconds(1500);
  o.busy_deadline = absl::Milliseconds(500);
  o.check_interval = absl::Milliseconds(50);
  return o;
}

std::unique_ptr<HttpServer> Serve(const HttpServerOptions& options) {
  auto http = HttpServer::Bind("127.0.0.1:0", options);
  EXPECT_TRUE(http.ok()) << http.status();
  if (!http.ok()) return nullptr;
  (*http)->routes().Get("/hi", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hi", "text/plain");
  });
  (*http)->PostWithBody("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.body, "text/plain");
  });
  return std::move(*http);
}

// How long one plain GET takes on this machine now: the unit of the bounds below.
absl::Duration TimeOneGet(int port) {
  httplib::Client client("127.0.0.1", port);
  const absl::Time start = absl::Now();
  auto res = client.Get("/hi");
  EXPECT_TRUE(res && res->status == 200);
  return absl::Now() - start;
}

TEST(HttpServerTest, ListenAddressesAndErrors) {
  EXPECT_EQ(*ParseListen("0.0.0.0:8080", "--x"), std::make_pair(std::string("0.0.0.0"), 8080));
  EXPECT_EQ(*ParseListen("[::1]:0", "--x"), std::make_pair(std::string("::1"), 0));
  EXPECT_EQ(*ParseListen(":9", "--x"), std::make_pair(std::string("0.0.0.0"), 9));
  for (const char* bad : {"no-port", "host:", "host:x", "host:70000", "host:-1"}) {
    auto r = ParseListen(bad, "--http_listen");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(std::string("--http_listen ") + bad), std::string::npos);
  }
  auto first = Serve(FastOptions());
  ASSERT_NE(first, nullptr);
  first->Start();
  // A second listener on a port in use fails, rather than sharing it (SO_REUSEPORT).
  const std::string taken = "127.0.0.1:" + std::to_string(first->port());
  auto second = HttpServer::Bind(taken, FastOptions());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("--test_listen " + taken + ": cannot listen"),
            std::string::npos)
      << second.status();
  // Bound but never started: the port is released.
  auto unstarted = HttpServer::Bind("127.0.0.1:0", FastOptions());
  ASSERT_TRUE(unstarted.ok());
  const int port = (*unstarted)->port();
  unstarted->reset();
  EXPECT_TRUE(HttpServer::Bind("127.0.0.1:" + std::to_string(port), FastOptions()).ok());
}

// A burst of connections while the listener does not accept (here: bound, not started) waits in
// the kernel's listen queue, not in SYN retransmits: httplib 0.11's own backlog is 5.
TEST(HttpServerTest, ABurstOfConnectionsFitsTheListenQueue) {
  auto http = HttpServer::Bind("127.0.0.1:0", FastOptions());
  ASSERT_TRUE(http.ok()) << http.status();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((*http)->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  constexpr int kBurst = 256;
  std::vector<pollfd> burst;
  for (int i = 0; i < kBurst; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // EINPROGRESS
    burst.push_back({.fd = fd, .events = POLLOUT, .revents = 0});
  }
  // A queued connection's handshake completes at once; one past the queue never does here.
  int connected = 0;
  const absl::Time end = absl::Now() + absl::Seconds(10);
  while (connected < kBurst && absl::Now() < end) {
    poll(burst.data(), burst.size(), 100);
    connected = 0;
    for (pollfd& p : burst) {
      int error = -1;
      socklen_t size = sizeof error;
      if ((p.revents & POLLOUT) && getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 &&
          error == 0) {
        ++connected;
      }
    }
  }
  EXPECT_EQ(connected, kBurst) << "connections in the listen queue";
  for (const pollfd& p : burst) close(p.fd);
}

TEST(HttpServerTest, ServesAndLimitsTheBody) {
  HttpServerOptions options = FastOptions();
  options.max_body_bytes = 1000;
  auto http = Serve(options);
  ASSERT_NE(http, nullptr);
  http->Start();
  httplib::Client client("127.0.0.1", http->port());
  auto small = client.Post("/echo", std::string(1000, 'a'), "text/plain");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
  EXPECT_EQ(small->body.size(), 1000u);
  auto big = client.Post("/echo", std::string(1001, 'a'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
}

// httplib 0.11 bounds each header line, not their number: 200,000 lines (22 MB) were read into
// memory and answered 200. A head past the limit is answered 431, naming the limit, and its
// connection ends; one just under it is served, and so are two requests sent in one write.
TEST(HttpServerTest, AHeadPastTheLimitIsRefusedWith431) {
  HttpServerOptions options = FastOptions();
  options.max_head_bytes = 16 << 10;
  auto http = Serve(options);
  ASSERT_NE(http, nullptr);
  http->Start();
  const auto head_of = [](size_t bytes) {
    std::string head = "GET /hi HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; head.size() + 100 < bytes; ++i) {
      head += "X-Filler-" + std::to_string(i) + ": " + std::string(80, 'a') + "\r\n";
    }
    return head;
  };
  {
    RawClient flood(http->port());
    ASSERT_TRUE(flood.connected());
    // 1 MB of headers in one go: the server stops reading at 16 KiB.
    flood.Send(head_of(1 << 20) + "\r\n");
    const std::string reply = flood.ReadAll(absl::Seconds(10));
    EXPECT_TRUE(reply.rfind("HTTP/1.1 431 ", 0) == 0) << reply.substr(0, 200);
    EXPECT_NE(reply.find("limit of 16384 bytes"), std::string::npos) << reply;
  }
  {
    RawClient fits(http->port());
    ASSERT_TRUE(fits.connected());
    // Just under the limit, and a second request in the same write, kept for after the first.
    fits.Send(head_of(15 << 10) + "\r\n" +
              "GET /hi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string reply = fits.ReadAll(absl::Seconds(10));
    EXPECT_TRUE(reply.rfind("HTTP/1.1 200 ", 0) == 0) << reply.substr(0, 200);
    EXPECT_NE(reply.find("HTTP/1.1 200 ", 1), std::string::npos) << "the second request: " << reply;
  }
  http->Stop(absl::Seconds(1));
}

TEST(HttpServerTest, ATricklingClientIsClosedAtTheDeadlineAndOthersAreServed) {
  HttpServerOptions options = FastOptions();
  options.max_threads = 4;
  auto http = Serve(options);
  ASSERT_NE(http, nullptr);
  http->Start();
  const absl::Duration one_get = TimeOneGet(http->port());

  RawClient slow(http->port());
  ASSERT_TRUE(slow.connected());
  const absl::Time start = absl::Now();
  // A byte every 100 ms never trips a per-read timeout; only the request deadline ends it.
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string request = "GET /hi HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(500, 'p');
    for (size_t i = 0; i < request.size() && !stop; ++i) {
      if (!slow.Send(request.substr(i, 1))) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  // Meanwhile other clients are answered.
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT(TimeOneGet(http->port()), 20 * one_get + absl::Seconds(2));
  }
  EXPECT_TRUE(slow.ClosedWithin(absl::Seconds(30)));
  const absl::Duration took = absl::Now() - start;
  stop = true;
  trickle.join();
  EXPECT_GE(took, options.request_deadline);
  EXPECT_LT(took,
            options.request_deadline + options.check_interval + 20 * one_get + absl::Seconds(3));
}

TEST(HttpServerTest, SilentConnectionsMakeWayWhenEveryWorkerIsTaken) {
  HttpServerOptions options = FastOptions();
  options.max_threads = 2;
  options.keep_alive_timeout_s = 5;
  options.request_deadline = absl::Seconds(20);  // Only the busy deadline can free workers.
  auto http = Serve(options);
  ASSERT_NE(http, nullptr);
  http->Start();
  const absl::Duration one_get = TimeOneGet(http->port());
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 20; ++i) {
    silent.push_back(std::make_unique<RawClient>(http->port()));
    ASSERT_TRUE(silent.back()->connected());
  }
  // Without shedding this GET would wait for 20 silent connections x 5 s of keep-alive / 2 workers.
  const absl::Duration took = TimeOneGet(http->port());
  EXPECT_LT(took, options.busy_deadline + options.check_interval + 20 * one_get + absl::Seconds(3));
  EXPECT_TRUE(silent.front()->ClosedWithin(absl::Seconds(10)));
}

TEST(HttpServerTest, HandlersSeeTheirClientGoAndBusyConnectionsAreNotClosed) {
  HttpServerOptions options = FastOptions();
  auto http = Serve(options);
  ASSERT_NE(http, nullptr);
  HttpConnections& connections = http->connections();
  absl::Notification handler_started, checked_while_busy, client_closed;
  std::atomic<bool> gone_at_start{true}, gone_while_busy{true}, saw_gone{false};
  http->routes().Get("/wait", [&](const httplib::Request& req, httplib::Response& res) {
    auto busy = connections.Busy(req.remote_addr, req.remote_port);
    gone_at_start = busy == nullptr || connections.PeerGone(req.remote_addr, req.remote_port);
    handler_started.Notify();
    // Outlive the request deadline while busy: the connection must not be closed under us.
    absl::SleepFor(options.request_deadline + 4 * options.check_interval);
    gone_while_busy = connections.PeerGone(req.remote_addr, req.remote_port);
    checked_while_busy.Notify();
    client_closed.WaitForNotificationWithTimeout(absl::Seconds(30));
    const absl::Time end = absl::Now() + absl::Seconds(30);
    while (!saw_gone && absl::Now() < end) {
      saw_gone = connections.PeerGone(req.remote_addr, req.remote_port);
      absl::SleepFor(absl::Milliseconds(10));
    }
    res.set_content("late", "text/plain");
  });
  http->Start();
  {
    RawClient client(http->port());
    ASSERT_TRUE(client.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(handler_started.WaitForNotificationWithTimeout(absl::Seconds(30)));
    EXPECT_FALSE(gone_at_start);
    ASSERT_TRUE(checked_while_busy.WaitForNotificationWithTimeout(absl::Seconds(30)));
    EXPECT_FALSE(gone_while_busy);
    EXPECT_FALSE(client.ClosedWithin(absl::Milliseconds(100)));
  }
  client_closed.Notify();
  http->Stop(absl::Seconds(30));
  EXPECT_TRUE(saw_gone);
}

TEST(HttpServerTest, StopDoesNotWaitForSlowOrSilentClients) {
  // The baseline: a server with no clients.
  auto idle = Serve(FastOptions());
  ASSERT_NE(idle, nullptr);
  idle->Start();
  absl::Time start = absl::Now();
  idle->Stop(absl::ZeroDuration());
  const absl::Duration baseline = absl::Now() - start;

  HttpServerOptions options = FastOptions();
  options.keep_alive_timeout_s = 30;
  options.request_deadline = absl::Seconds(60);  // Neither timeout may be what ends them.
  auto http = Serve(options);
  ASSERT_NE(http, nullptr);
  http->Start();
  RawClient silent(http->port()), slow(http->port());
  ASSERT_TRUE(silent.connected() && slow.connected());
  ASSERT_TRUE(slow.Send("GET /hi HTTP/1.1\r\n"));  // Headers never finish.
  TimeOneGet(http->port());                        // Both are being served by now.
  start = absl::Now();
  http->Stop(absl::ZeroDuration());
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, 20 * baseline + absl::Seconds(2)) << "baseline " << baseline;
  EXPECT_TRUE(silent.ClosedWithin(absl::Seconds(1)));
  EXPECT_TRUE(slow.ClosedWithin(absl::Seconds(1)));
}

}  // namespace
}  // namespace trm::server
