#include "server/guards/watchdog.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "server/grpc/health_service.h"
#include "server/http/http_server.h"

namespace trm::server {
namespace {

// A loopback TCP socket that listens but never accepts: the state gRPC 1.51 leaves its listener
// in after accept4() fails with EMFILE (CVE-2023-4785). Connections complete in the kernel's
// backlog and get no answer.
class DeadListener {
 public:
  DeadListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~DeadListener() { close(fd_); }
  int port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class HealthServer {
 public:
  HealthServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
  }
  ~HealthServer() { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }
  int port() const { return port_; }

 private:
  HealthService health_;  // NOT_SERVING: an answer all the same.
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

std::string Loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

const std::atomic<bool> kNotStopping{false};

TEST(WatchdogProbeTest, HealthProbeAnswersOnALiveServerAndTimesOutOnADeadListener) {
  HealthServer live;
  EXPECT_TRUE(
      ProbeHealthOnFreshConnection(Loopback(live.port()), absl::Seconds(30), kNotStopping).ok());
  DeadListener dead;
  const absl::Status s =
      ProbeHealthOnFreshConnection(Loopback(dead.port()), absl::Milliseconds(300), kNotStopping);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(Loopback(dead.port())), std::string::npos) << s;
}

TEST(WatchdogProbeTest, AcceptProbeSeesTheServerAcceptAndADeadListenerNot) {
  HealthServer live;  // In this process, as the probe requires.
  EXPECT_TRUE(
      ProbeAcceptedByThisProcess("127.0.0.1", live.port(), absl::Seconds(30), kNotStopping).ok());
  DeadListener dead;
  const absl::Status s =
      ProbeAcceptedByThisProcess("127.0.0.1", dead.port(), absl::Milliseconds(300), kNotStopping);
  EXPECT_NE(s.message().find("not accepted"), std::string::npos) << s;
}

// A listener that accepts and then never answers: a server too busy to answer in time.
class SilentServer {
 public:
  SilentServer() {
    thread_ = std::thread([this] {
      for (;;) {
        const int c = accept(listener_.fd(), nullptr, nullptr);
        if (c < 0) return;  // Closed by the destructor.
        accepted_.push_back(c);
      }
    });
  }
  ~SilentServer() {
    shutdown(listener_.fd(), SHUT_RDWR);
    thread_.join();
    for (int c : accepted_) close(c);
  }
  int port() const { return listener_.port(); }

 private:
  DeadListener listener_;      // Listening; accepted here.
  std::vector<int> accepted_;  // The thread's.
  std::thread thread_;
};

// A port that accepts but answers no health check is busy, not dead: only `patience` such
// probes in a row fail; a port that accepts nothing fails at once.
TEST(WatchdogProbeTest, LivenessProbeGivesABusyPortPatienceAndADeadOneNone) {
  SilentServer busy;
  LivenessProbe probe({"127.0.0.1", busy.port()}, /*health_check=*/true, /*patience=*/3);
  EXPECT_TRUE(probe(absl::Milliseconds(200), kNotStopping).ok());
  EXPECT_TRUE(probe(absl::Milliseconds(200), kNotStopping).ok());
  const absl::Status third = probe(absl::Milliseconds(200), kNotStopping);
  EXPECT_NE(third.message().find("the port accepts, but 3 health checks"), std::string::npos)
      << third;
  EXPECT_EQ(probe.slow(), 3);
  HealthServer live;
  LivenessProbe healthy({"127.0.0.1", live.port()}, true, 3);
  EXPECT_TRUE(healthy(absl::Seconds(30), kNotStopping).ok());
  EXPECT_EQ(healthy.slow(), 0);
  DeadListener dead;
  LivenessProbe none({"127.0.0.1", dead.port()}, true, 3);
  EXPECT_FALSE(none(absl::Milliseconds(200), kNotStopping).ok());
  LivenessProbe tls({"127.0.0.1", dead.port()}, /*health_check=*/false, 3);
  EXPECT_FALSE(tls(absl::Milliseconds(200), kNotStopping).ok());
}

TEST(WatchdogProbeTest, HttpProbeWantsA200OnANewConnection) {
  auto http = HttpServer::Bind("127.0.0.1:0", HttpServerOptions{});
  ASSERT_TRUE(http.ok()) << http.status();
  (*http)->routes().Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  (*http)->routes().Get("/draining",
                        [](const httplib::Request&, httplib::Response& res) { res.status = 503; });
  (*http)->Start();
  const int port = (*http)->port();
  EXPECT_TRUE(
      ProbeHttpOnFreshConnection("127.0.0.1", port, "/healthz", absl::Seconds(30), kNotStopping)
          .ok());
  const absl::Status refused =
      ProbeHttpOnFreshConnection("127.0.0.1", port, "/draining", absl::Seconds(30), kNotStopping);
  EXPECT_NE(refused.message().find("answered HTTP/1.1 503"), std::string::npos) << refused;
  DeadListener dead;
  const absl::Status s = ProbeHttpOnFreshConnection("127.0.0.1", dead.port(), "/healthz",
                                                    absl::Milliseconds(300), kNotStopping);
  EXPECT_NE(s.message().find("no answer"), std::string::npos) << s;
}

TEST(WatchdogProbeTest, ProbesGiveUpWhenStopping) {
  DeadListener dead;
  const std::atomic<bool> stopping{true};
  // With an hour's timeout, only `stopping` can end these.
  EXPECT_FALSE(ProbeHealthOnFreshConnection(Loopback(dead.port()), absl::Hours(1), stopping).ok());
  EXPECT_FALSE(ProbeAcceptedByThisProcess("127.0.0.1", dead.port(), absl::Hours(1), stopping).ok());
}

TEST(WatchdogTest, FiresOnceAfterTheGivenFailuresInARow) {
  // Outcomes of successive probes: a failure streak shorter than 3 is forgiven.
  const std::vector<bool> outcomes = {true, false, false, true, false, false, false, true};
  std::atomic<size_t> probes{0};
  absl::Notification fired;
  absl::Status got;
  Watchdog dog(
      {.interval = absl::Milliseconds(1), .failures = 3},
      [&](absl::Duration, const std::atomic<bool>&) {
        const size_t i = probes++;
        return i < outcomes.size() && outcomes[i]
                   ? absl::OkStatus()
                   : absl::UnavailableError(absl::StrCat("probe ", i));
      },
      [&](const absl::Status& s) {
        got = s;
        fired.Notify();
      });
  ASSERT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(60)));
  dog.Stop();
  EXPECT_EQ(probes.load(), 7u) << "fires at the third failure in a row, then stops probing";
  EXPECT_EQ(got.message(), "probe 6");
}

// With a recovery callback (readiness), probing goes on after a failure: the first probe that
// passes recovers, and the next streak fails again.
TEST(WatchdogTest, WithARecoveryItFailsAndRecoversByTurns) {
  const std::vector<bool> outcomes = {false, false, false, true, true, false, true, false, false};
  std::atomic<size_t> probes{0};
  Mutex mu;
  std::vector<std::string> events;  // Guarded by mu.
  absl::Notification done;
  auto note = [&](std::string event) {
    MutexLock lock(&mu);
    events.push_back(absl::StrCat(event, "@", probes.load() - 1));
    if (events.size() == 3) done.Notify();
  };
  Watchdog dog(
      {.interval = absl::Milliseconds(1), .failures = 2},
      [&](absl::Duration, const std::atomic<bool>&) {
        const size_t i = probes++;
        // Past the list the port stays down: no event after the third.
        return i < outcomes.size() && outcomes[i] ? absl::OkStatus()
                                                  : absl::UnavailableError("down");
      },
      [&](const absl::Status&) { note("failed"); }, [&] { note("recovered"); });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  dog.Stop();
  MutexLock lock(&mu);
  EXPECT_EQ(events, (std::vector<std::string>{"failed@1", "recovered@3", "failed@8"}));
}

TEST(WatchdogTest, StopEndsAProbeUnderWay) {
  absl::Notification probing;
  Watchdog dog(
      {.interval = absl::Hours(1), .failures = 1},
      [&](absl::Duration, const std::atomic<bool>& stopping) {
        if (!probing.HasBeenNotified()) probing.Notify();
        while (!stopping.load()) absl::SleepFor(absl::Milliseconds(1));
        return absl::UnavailableError("stopped");
      },
      [](const absl::Status&) { ADD_FAILURE() << "a stopped watchdog does not fire"; });
  ASSERT_TRUE(probing.WaitForNotificationWithTimeout(absl::Seconds(60)));
  dog.Stop();  // Returns: the probe saw `stopping`.
}

TEST(WatchdogTest, ProbeAddressUsesLoopbackForWildcards) {
  EXPECT_EQ(ProbeAddressFor("0.0.0.0:50051", 50051).target(), "127.0.0.1:50051");
  EXPECT_EQ(ProbeAddressFor("0.0.0.0:0", 4321).target(), "127.0.0.1:4321");
  EXPECT_EQ(ProbeAddressFor("[::]:0", 4321).target(), "[::1]:4321");
  EXPECT_EQ(ProbeAddressFor("127.0.0.2:9", 9).target(), "127.0.0.2:9");
  EXPECT_EQ(ProbeAddressFor("localhost:9", 9).host, "localhost");
}

}  // namespace
}  // namespace trm::server
