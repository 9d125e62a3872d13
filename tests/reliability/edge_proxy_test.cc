// The edge proxy profile (deploy/haproxy/haproxy.cfg, issue 34) in front of a real trm-server:
// slow clients and a smuggling attempt against the proxy's ports, with what must hold behind it.
// HAProxy is Debian's (scripts/install-deps.sh installs it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e_http.h"
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

TEST(EdgeProxyTest, SlowClientsAndSmugglingStopAtTheEdge) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  ASSERT_EQ(access(kHaproxy, X_OK), 0) << kHaproxy << " is missing: scripts/install-deps.sh "
                                       << "installs Debian's haproxy";
  Server server({});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  const pid_t pid = server.process->child().pid();
  EdgeProxy edge(server.process->port(), server.process->http_port());
  ASSERT_TRUE(edge.ok()) << edge.Log();
  const std::string edge_grpc = absl::StrCat("127.0.0.1:", edge.grpc_port());
  const std::string solve = absl::StrCat("{\"sudoku\": \"", kSudoku, "\"}");
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

}  // namespace
}  // namespace trm::reliability
