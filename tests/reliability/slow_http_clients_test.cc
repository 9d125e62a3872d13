// Slow and silent HTTP clients (issue 22, item 4): the hand-written /metrics server served one
// connection at a time with a read timeout that restarted on every byte, so a client sending a
// byte a second stopped every scrape, 66 silent connections filled its backlog, and SIGTERM with
// such a client connected took 38 s to exit with --drain_timeout_s=5. /metrics and the HTTP API
// now run on cpp-httplib with a worker pool, a whole-request deadline, and a stop that closes
// every connection (server/http/http_server.h). Each test reproduces one attack on loopback.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e_http.h"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using e2e::HttpCall;
using e2e::RawConnection;

// Sends a request one byte a second on its own thread until stopped or the server hangs up.
class Trickler {
 public:
  explicit Trickler(int port) : connection_(port) {
    thread_ = std::thread([this] {
      const std::string request =
          "GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: " + std::string(200, 's') + "\r\n\r\n";
      for (size_t i = 0; i < request.size() && !stop_; ++i) {
        if (!connection_.Send(request.substr(i, 1))) break;
        sent_ = static_cast<int>(i + 1);
        for (int k = 0; k < 10 && !stop_; ++k) absl::SleepFor(absl::Milliseconds(100));
      }
    });
  }
  ~Trickler() {
    stop_ = true;
    thread_.join();
  }
  bool connected() const { return connection_.connected(); }
  int sent() const { return sent_; }

 private:
  RawConnection connection_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0};
  std::thread thread_;
};

// A scrape's duration on this machine now, the unit of the bounds below.
absl::Duration TimeScrape(int port, int* status = nullptr) {
  const absl::Time start = absl::Now();
  e2e::HttpReply r = HttpCall(port, "GET", "/metrics", "", {}, absl::Seconds(60));
  if (status != nullptr) *status = r.status;
  return absl::Now() - start;
}

TEST(SlowHttpClientsTest, AClientSendingAByteASecondDoesNotStopOtherScrapes) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  const int port = server.process->metrics_port();
  const absl::Duration one = TimeScrape(port);
  Trickler slow(port);
  ASSERT_TRUE(slow.connected());
  while (slow.sent() < 2) absl::SleepFor(absl::Milliseconds(20));  // It holds a worker now.
  for (int i = 0; i < 5; ++i) {
    int status = 0;
    const absl::Duration took = TimeScrape(port, &status);
    EXPECT_EQ(status, 200) << "scrape " << i;
    EXPECT_LT(took, 20 * one + absl::Seconds(2)) << "scrape " << i << ", alone " << one;
  }
  // The same on the API port.
  Trickler api(server.process->http_port());
  ASSERT_TRUE(api.connected());
  while (api.sent() < 2) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(HttpCall(server.process->http_port(), "GET", "/readyz").status, 200);
  std::printf("scrape alone %s; 5 scrapes beside a 1 byte/s client, each under the bound\n",
              absl::FormatDuration(one).c_str());
}

TEST(SlowHttpClientsTest, SixtySixSilentConnectionsDoNotFillTheBacklog) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  for (const int port : {server.process->metrics_port(), server.process->http_port()}) {
    const absl::Duration one = TimeScrape(port);
    std::vector<std::unique_ptr<RawConnection>> silent;
    for (int i = 0; i < 66; ++i) {
      silent.push_back(std::make_unique<RawConnection>(port));
      ASSERT_TRUE(silent.back()->connected()) << "connection " << i;
    }
    int status = 0;
    const absl::Duration took = TimeScrape(port, &status);
    EXPECT_EQ(status, port == server.process->metrics_port() ? 200 : 404);
    // Workers beyond the silent ones, or the 1 s a connection gets while others wait for one.
    EXPECT_LT(took, absl::Seconds(1) + 20 * one + absl::Seconds(3)) << "alone " << one;
    std::printf("port %d: alone %s, beside 66 silent connections %s\n", port,
                absl::FormatDuration(one).c_str(), absl::FormatDuration(took).c_str());
  }
}

// SIGTERM with nothing in flight, then with slow and silent clients on both HTTP ports: the
// second exit must not take longer than the drain timeout plus a bound from the first.
TEST(SlowHttpClientsTest, SigtermWithSlowClientsConnectedExitsWithinTheDrainTimeout) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  constexpr int kDrainSeconds = 5;
  const std::vector<std::string> flags = {absl::StrCat("--drain_timeout_s=", kDrainSeconds)};
  absl::Duration baseline;
  {
    Server quiet(flags);
    ASSERT_TRUE(quiet.process->ok()) << quiet.process->child().Log();
    const absl::Time start = absl::Now();
    quiet.process->child().Signal(SIGTERM);
    EXPECT_EQ(quiet.process->child().Wait(absl::Seconds(120)), 0);
    baseline = absl::Now() - start;
  }
  Server server(flags);
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  Trickler metrics_slow(server.process->metrics_port()), api_slow(server.process->http_port());
  RawConnection metrics_silent(server.process->metrics_port()),
      api_silent(server.process->http_port());
  ASSERT_TRUE(metrics_slow.connected() && api_slow.connected() && metrics_silent.connected() &&
              api_silent.connected());
  while (metrics_slow.sent() < 2 || api_slow.sent() < 2) absl::SleepFor(absl::Milliseconds(20));
  const absl::Time start = absl::Now();
  server.process->child().Signal(SIGTERM);
  const std::optional<int> code = server.process->child().Wait(absl::Seconds(120));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(code, 0) << server.process->child().Log();
  EXPECT_LT(took, absl::Seconds(kDrainSeconds) + 3 * baseline + absl::Seconds(1))
      << "without clients it took " << baseline;
  std::printf("SIGTERM to exit: %s without clients, %s with slow and silent ones\n",
              absl::FormatDuration(baseline).c_str(), absl::FormatDuration(took).c_str());
}

}  // namespace
}  // namespace trm::reliability
