#include "server/guards/grpc_connection_guard.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/grpc/health_service.h"

namespace trm::server {
namespace {

TEST(ChannelzSocketTest, ParsesThePeerAndTheStreamCounts) {
  // As gRPC 1.51 writes them (zeros left out).
  auto s = ParseChannelzSocket(R"({"socket":{"data":{"streamsStarted":"5","streamsSucceeded":"3",
      "streamsFailed":"1","messagesReceived":"4"},"local":{"tcpip_address":{"ip_address":"fwAAAQ==","port":34677}},
      "ref":{"name":"chttp2 ipv4:127.0.0.1:37000","socketId":"5"},
      "remote":{"tcpip_address":{"ip_address":"fwAAAQ==","port":37000}}}})");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->id, 5);
  EXPECT_EQ(s->peer, "127.0.0.1:37000");
  EXPECT_EQ(s->local_port, 34677);
  EXPECT_EQ(s->open_streams(), 1);
  EXPECT_EQ(s->streams_without_message(), 1);
  // An IPv4-mapped IPv6 peer is named as IPv4, as PeerOfDescriptor names it.
  s = ParseChannelzSocket(R"({"socket":{"ref":{"socketId":"9"},
      "remote":{"tcpip_address":{"ip_address":"AAAAAAAAAAAAAP//fwAAAQ==","port":1}}}})");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->peer, "127.0.0.1:1");
  EXPECT_EQ(s->open_streams(), 0);
  EXPECT_FALSE(ParseChannelzSocket(R"({"socket":{"ref":{"socketId":"9"}}})").has_value());
  EXPECT_FALSE(ParseChannelzSocket("not json").has_value());
}

// A loopback connection that has sent the HTTP/2 client preface and empty SETTINGS: an idle
// gRPC connection.
class IdleHttp2 {
 public:
  explicit IdleHttp2(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
    send(fd_, kPreface, sizeof kPreface - 1, MSG_NOSIGNAL);
  }
  ~IdleHttp2() { close(fd_); }
  // True once the server has closed the connection (reads up to `timeout`).
  bool ClosedWithin(absl::Duration timeout) {
    const absl::Time end = absl::Now() + timeout;
    char buf[512];
    while (absl::Now() < end) {
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 20) == 1 && recv(fd_, buf, sizeof buf, 0) <= 0) return true;
    }
    return false;
  }
  // Whether the connection is still open now: what the server sent is read without waiting,
  // and neither an end of file nor a reset came.
  bool OpenNow() {
    char buf[512];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }

 private:
  int fd_ = -1;
};

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// Past the budget the oldest idle connection makes room, and a client gets in.
TEST(GrpcConnectionGuardTest, PastTheBudgetTheOldestIdleConnectionMakesRoom) {
  auto guard = GrpcConnectionGuard::Make(
      {.max_connections = 3, .max_resets_per_second = 0, .interval = absl::Milliseconds(20)});
  ASSERT_TRUE(guard.ok()) << guard.status();
  HealthService health;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&health);
  (*guard)->AddTo(&builder);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  (*guard)->Start(port);
  std::vector<std::unique_ptr<IdleHttp2>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<IdleHttp2>(port));
    ASSERT_TRUE(WaitFor([&] { return (*guard)->stats().open == i + 1; }, absl::Seconds(30)))
        << "connection " << i;
  }
  // A fourth: the oldest idle connection makes way for it (or, before the guard has looked at
  // the connections, the fourth is let in over the budget and the sweep closes the oldest idle
  // ones down to the budget less a tenth, here 2).
  IdleHttp2 fourth(port);
  EXPECT_TRUE(idle[0]->ClosedWithin(absl::Seconds(30)));
  ASSERT_TRUE(WaitFor([&] { return (*guard)->stats().open <= 3; }, absl::Seconds(30)));
  const GrpcConnectionStats stats = (*guard)->stats();
  EXPECT_EQ(stats.limit, 3);
  EXPECT_GE(stats.closed_idle, 1);
  // Oldest first: at most idle[0] and idle[1] went; the newest two are open.
  EXPECT_LE(stats.closed_idle, 2);
  EXPECT_EQ(stats.refused, 0);
  EXPECT_TRUE(idle[2]->OpenNow()) << "the newest idle connection was closed";
  EXPECT_TRUE(fourth.OpenNow()) << "the new connection was closed";
  // A client gets in now (gRPC's channel reconnects on its own after a refusal).
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status s = stub->Check(&c, grpc::health::v1::HealthCheckRequest(), &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  (*guard)->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace trm::server
