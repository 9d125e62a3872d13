// The edge proxy profile (deploy/haproxy/haproxy.cfg, issue 34) in front of a real trm-server:
// slow clients and a smuggling attempt against the proxy's ports, with what must hold behind it.
// HAProxy is Debian's (scripts/install-deps.sh installs it).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e_http.h"
#include "tests/reliability/raw_h2.h"
#include "tests/reliability/reliability_util.h"
#include "tests/reliability/slowloris.h"

namespace trm::reliability {
namespace {

using e2e::HttpCall;

constexpr char kHaproxy[] = "/usr/sbin/haproxy";

// HAProxy with the project's configuration, on two free loopback ports, in front of
// trm-server's gRPC and HTTP ports.
class EdgeProxy {
 public:
  EdgeProxy(int grpc_backend, int http_backend)
      : grpc_port_(e2e::FreePort()), http_port_(e2e::FreePort()) {
    const std::string config = e2e::Env("TRM_SOURCE_DIR") + "/deploy/haproxy/haproxy.cfg";
    child_ = std::make_unique<e2e::Child>(
        std::vector<std::string>{
            "/usr/bin/env", absl::StrCat("EDGE_GRPC_BIND=127.0.0.1:", grpc_port_),
            absl::StrCat("EDGE_HTTP_BIND=127.0.0.1:", http_port_),
            absl::StrCat("TRM_GRPC_ADDR=127.0.0.1:", grpc_backend),
            absl::StrCat("TRM_HTTP_ADDR=127.0.0.1:", http_backend), kHaproxy, "-db", "-f", config},
        dir_.path() + "/haproxy.log");
    ok_ = WaitUntil(
        [&] {
          for (int port : {grpc_port_, http_port_}) {
            const int fd = e2e::ConnectLoopback(port);
            if (fd < 0) return false;
            close(fd);
          }
          return true;
        },
        absl::Seconds(30));
  }
  bool ok() const { return ok_; }
  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  std::string Log() const { return child_->Log(); }
  e2e::Child& child() { return *child_; }

 private:
  e2e::TempDir dir_;
  const int grpc_port_, http_port_;
  std::unique_ptr<e2e::Child> child_;
  bool ok_ = false;
};

// trm-server (with `flags`, run under `wrapper`) behind the edge.
class EdgeProxyTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags, std::vector<std::string> wrapper = {}) {
    ASSERT_TRUE(SharedCheckpoints().ok);
    ASSERT_EQ(access(kHaproxy, X_OK), 0) << kHaproxy << " is missing: scripts/install-deps.sh "
                                         << "installs Debian's haproxy";
    server_ = std::make_unique<Server>(std::move(flags), std::move(wrapper));
    ASSERT_TRUE(server_->process->ok()) << server_->process->child().Log();
    pid_ = server_->process->child().pid();
    edge_ = std::make_unique<EdgeProxy>(server_->process->port(), server_->process->http_port());
    ASSERT_TRUE(edge_->ok()) << edge_->Log();
    edge_grpc_ = absl::StrCat("127.0.0.1:", edge_->grpc_port());
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<EdgeProxy> edge_;
  pid_t pid_ = 0;
  std::string edge_grpc_;
  const std::string solve_ = absl::StrCat("{\"sudoku\": \"", kSudoku, "\"}");
};

TEST_F(EdgeProxyTest, SlowClientsAndSmugglingStopAtTheEdge) {
  ASSERT_NO_FATAL_FAILURE(Start({}));
  Server& server = *server_;
  EdgeProxy& edge = *edge_;
  const pid_t pid = pid_;
  const std::string& edge_grpc = edge_grpc_;
  const std::string& solve = solve_;
  // Both ports through the edge.
  trm::v1::SolveResponse response;
  const grpc::Status s = Solve(Channel(edge_grpc), Sudoku("through the edge"), &response);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << edge.Log();
  absl::Duration solve_alone = absl::InfiniteDuration();
  for (int i = 0; i < 3; ++i) {
    const absl::Time t = absl::Now();
    ASSERT_EQ(HttpCall(edge.http_port(), "POST", "/v1/solve", solve).status, 200) << edge.Log();
    solve_alone = std::min(solve_alone, absl::Now() - t);
  }

  // 600 slow clients from another address: the edge holds at most 64 of them (per address) and
  // refuses the rest as they reconnect; none reaches trm-server.
  constexpr int kSlow = 600;
  Slowloris flood(edge.http_port(), kSlow, "127.0.0.3");
  ASSERT_TRUE(WaitUntil([&] { return flood.reopened() > 2 * kSlow; }, absl::Seconds(60)))
      << "the edge did not turn the flood away";
  absl::Duration slowest;
  for (int round = 0; round < 10; ++round) {
    const absl::Time t = absl::Now();
    EXPECT_EQ(HttpCall(edge.http_port(), "POST", "/v1/solve", solve).status, 200)
        << "round " << round;
    slowest = std::max(slowest, absl::Now() - t);
  }
  EXPECT_LT(slowest, std::max(absl::Seconds(1), 10 * solve_alone));
  const double at_server =
      MetricSumWith(server.Metrics(), "trm_http_connections{", "listener=\"http\"");
  EXPECT_LE(at_server, 8) << "slow clients reached trm-server";

  // A request hidden in a body framed two ways (Content-Length and chunked): whichever framing
  // the edge takes, trm-server gets one, and the next client's request gets its own answer.
  {
    e2e::RawConnection attacker(edge.http_port());
    ASSERT_TRUE(attacker.connected());
    ASSERT_TRUE(
        attacker.Send("POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                      "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string ignored;
    attacker.Read(&ignored, absl::Seconds(2));
  }
  const e2e::HttpReply victim = HttpCall(edge.http_port(), "POST", "/v1/solve", solve);
  EXPECT_EQ(victim.status, 200);
  EXPECT_FALSE(absl::StrContains(victim.body, "\"models\"")) << victim.body;
  EXPECT_TRUE(Solve(Channel(edge_grpc), Sudoku("after"), &response).ok());
  EXPECT_EQ(server.process->child().pid(), pid);
  EXPECT_FALSE(server.process->child().Wait(absl::ZeroDuration()).has_value());
  std::printf(
      "edge proxy: %d slow clients (%lld reconnects) on its HTTP port: POST /v1/solve through it "
      "at worst %s (alone %s), %.0f connections at trm-server; smuggling attempt: the next "
      "client got its own answer\n",
      kSlow, static_cast<long long>(flood.reopened()),
      absl::FormatDuration(absl::Trunc(slowest, absl::Milliseconds(1))).c_str(),
      absl::FormatDuration(absl::Trunc(solve_alone, absl::Milliseconds(1))).c_str(), at_server);
}

// The transport attacks against the edge's ports, each from its own address, with trm-server at
// an open-file limit of 256 behind it: a connection burst past that limit (320) on the gRPC port,
// 60,000 streams opened and reset at once on one connection, and eight 16 MB request heads on the
// HTTP port. The edge turns each away; trm-server, the same process, sees next to none of it and
// serves a Solve and a POST /v1/solve through the edge throughout, its memory where it was.
TEST_F(EdgeProxyTest, ConnectionBurstRapidResetAndHeaderFloodStopAtTheEdge) {
  constexpr int kFileLimit = 256;
  ASSERT_NO_FATAL_FAILURE(
      Start({"--malloc_trim_interval_s=1"},
            {"/usr/bin/prlimit", absl::StrCat("--nofile=", kFileLimit, ":", kFileLimit), "--"}));
  Server& server = *server_;
  EdgeProxy& edge = *edge_;
  const pid_t pid = pid_;
  const std::string& edge_grpc = edge_grpc_;
  const std::string& solve = solve_;
  const auto serving = [&](const std::string& when) {
    trm::v1::SolveResponse response;
    const grpc::Status s = Solve(e2e::NewConnection(edge_grpc), Sudoku(when), &response);
    EXPECT_TRUE(s.ok()) << when << ": " << s.error_message() << "\n" << edge.Log();
    EXPECT_EQ(HttpCall(edge.http_port(), "POST", "/v1/solve", solve).status, 200) << when;
    EXPECT_EQ(server.process->child().pid(), pid);
    EXPECT_FALSE(server.process->child().Wait(absl::ZeroDuration()).has_value()) << when;
  };
  serving("before");
  const long rss_before = RssKib(pid);
  const int fds_before = OpenFds(pid);
  const double calls_before = MetricSum(server.Metrics(), "trm_grpc_calls_started_total");

  // A connection burst past trm-server's file limit, held while clients are served.
  int max_fds = 0;
  size_t burst_size = 0;
  {
    std::vector<RawConnection> burst = IdleConnections(edge.grpc_port(), 320, "127.0.0.4");
    burst_size = burst.size();
    for (int round = 0; round < 3; ++round) {
      serving(absl::StrCat("beside the burst, round ", round));
      max_fds = std::max(max_fds, OpenFds(pid));
    }
  }
  EXPECT_LT(max_fds, fds_before + 16) << "the burst reached trm-server";

  // Rapid reset on one connection.
  auto flood = RawConnection::Connect(edge.grpc_port(), "127.0.0.5");
  ASSERT_TRUE(flood && flood->StartHttp2());
  constexpr int kResets = 60000;
  const int resets = SendRapidResets(*flood, kResets);
  serving("after the resets");
  const double calls_let_through =
      MetricSum(server.Metrics(), "trm_grpc_calls_started_total") - calls_before;
  // The edge rate-limits streams per address (2,000 per 10 s; deploy/haproxy/haproxy.cfg).
  EXPECT_LT(calls_let_through, kResets / 10) << "resets reached trm-server";

  // Header floods on the HTTP port.
  std::string lines;
  for (int i = 0; lines.size() < (256 << 10); ++i) {
    absl::StrAppend(&lines, "X-Flood-", i, ": ", std::string(80, 'a'), "\r\n");
  }
  std::vector<std::string> replies(8);
  std::vector<std::thread> clients;
  for (auto& reply : replies) {
    clients.emplace_back([&] {
      const int fd = e2e::ConnectLoopback(edge.http_port(), "127.0.0.6");
      if (fd < 0) return;
      const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
      send(fd, head.data(), head.size(), MSG_NOSIGNAL);
      for (size_t sent = 0; sent < (16u << 20); sent += lines.size()) {
        if (send(fd, lines.data(), lines.size(), MSG_NOSIGNAL) <= 0) break;
      }
      char buf[512];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) reply.assign(buf, static_cast<size_t>(n));
      close(fd);
    });
  }
  for (auto& t : clients) t.join();
  int refused = 0;
  for (const std::string& reply : replies) {
    EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 4")) << reply;
    refused += absl::StartsWith(reply, "HTTP/1.1 4");
  }
  serving("after the header floods");

  long rss_after = 0;
  ExpectRssBackWithin(pid, rss_before, 48 * 1024, &rss_after);
  std::printf(
      "edge proxy, trm-server at a file limit of %d: a burst of %zu connections held, trm-server "
      "at most %d fds (%d before); %d of %d resets sent, %.0f calls reached trm-server; %d of 8 "
      "header floods answered 4xx by the edge; RSS %ld -> %ld KiB; same process serving\n",
      kFileLimit, burst_size, max_fds, fds_before, resets, kResets, calls_let_through, refused,
      rss_before, rss_after);
}

}  // namespace
}  // namespace trm::reliability
