#include "client/bench.h"

#include <gtest/gtest.h>

namespace trm::client {
namespace {

TEST(BenchTest, NearestRankPercentiles) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // Unsorted input.
  Percentiles p = Summarize(v);
  EXPECT_EQ(p.count, 100);
  EXPECT_DOUBLE_EQ(p.p50, 50);
  EXPECT_DOUBLE_EQ(p.p90, 90);
  EXPECT_DOUBLE_EQ(p.p99, 99);
  EXPECT_DOUBLE_EQ(p.max, 100);
  EXPECT_DOUBLE_EQ(p.mean, 50.5);
  Percentiles one = Summarize({7});
  EXPECT_DOUBLE_EQ(one.p50, 7);
  EXPECT_DOUBLE_EQ(one.p99, 7);
  EXPECT_EQ(Summarize({}).count, 0);
}

TEST(BenchTest, ReportListsErrorsByCode) {
  BenchResult r;
  r.ok = 2;
  r.wall_s = 1;
  r.latency_ms = {1, 3};
  r.errors["RESOURCE_EXHAUSTED"] = 5;
  BenchOptions o;
  const std::string text = FormatBench(r, o);
  EXPECT_NE(text.find("errors RESOURCE_EXHAUSTED: 5"), std::string::npos) << text;
  EXPECT_NE(text.find("2.0 requests/s"), std::string::npos) << text;
  EXPECT_EQ(BenchJson(r, o)["errors"]["RESOURCE_EXHAUSTED"], 5);
}

}  // namespace
}  // namespace trm::client
