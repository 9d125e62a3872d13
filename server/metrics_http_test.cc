#include "server/metrics_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/metrics.h"

namespace trm::server {
namespace {

std::string Get(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fd);
  return out;
}

TEST(MetricsHttpTest, ServesTheRegistryOnAnyFreePort) {
  Metrics metrics;
  metrics.RecordRequest("Solve", "sudoku", "OK", 0.01);
  auto http = MetricsHttpServer::Start("127.0.0.1:0", metrics.collectables());
  ASSERT_TRUE(http.ok()) << http.status();
  ASSERT_GT((*http)->port(), 0);
  const std::string ok = Get((*http)->port(), "/metrics");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK", 0), 0u) << ok;
  EXPECT_NE(ok.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(ok.find("trm_requests_total{code=\"OK\",method=\"Solve\",model=\"sudoku\"} 1"),
            std::string::npos)
      << ok;
  EXPECT_NE(ok.find("process_open_fds"), std::string::npos);
  EXPECT_EQ(Get((*http)->port(), "/other").rfind("HTTP/1.1 404", 0), 0u);
}

TEST(MetricsHttpTest, ErrorsNameTheAddress) {
  auto bad = MetricsHttpServer::Start("no-port", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--metrics_listen no-port"), std::string::npos);
  auto first = MetricsHttpServer::Start("127.0.0.1:0", {});
  ASSERT_TRUE(first.ok());
  auto taken = MetricsHttpServer::Start("127.0.0.1:" + std::to_string((*first)->port()), {});
  // SO_REUSEADDR does not allow two listeners on one port.
  EXPECT_FALSE(taken.ok());
}

}  // namespace
}  // namespace trm::server
