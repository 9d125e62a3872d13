#include "server/http/http_metrics.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "server/metrics.h"

namespace trm::server {
namespace {

TEST(HttpMetricsTest, ServesTheRegistryOnAnyFreePort) {
  Metrics metrics;
  metrics.RecordRequest("Solve", "sudoku", "OK", 0.01);
  auto http = StartMetricsHttp("127.0.0.1:0", metrics.collectables());
  ASSERT_TRUE(http.ok()) << http.status();
  ASSERT_GT((*http)->port(), 0);
  httplib::Client client("127.0.0.1", (*http)->port());
  auto ok = client.Get("/metrics");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(ok->body.find("trm_requests_total{code=\"OK\",method=\"Solve\",model=\"sudoku\"} 1"),
            std::string::npos)
      << ok->body;
  EXPECT_NE(ok->body.find("process_open_fds"), std::string::npos);
  auto other = client.Get("/other");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(other->body, "not found: try /metrics\n");
}

TEST(HttpMetricsTest, ErrorsNameTheAddress) {
  auto bad = StartMetricsHttp("no-port", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--metrics_listen no-port"), std::string::npos);
  auto first = StartMetricsHttp("127.0.0.1:0", {});
  ASSERT_TRUE(first.ok());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = StartMetricsHttp(taken, {});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("--metrics_listen " + taken + ": cannot listen"),
            std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace trm::server
