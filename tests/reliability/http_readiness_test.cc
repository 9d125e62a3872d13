// Readiness covers the HTTP port (issue 35): 64 slow bodies held every HTTP worker and POST
// /v1/solve and /healthz timed out for the whole run while the gRPC-only readiness probes stayed
// green. The health entry "" (what the Kubernetes readiness probe checks) now turns NOT_SERVING
// while GET /healthz on a new connection to the HTTP port fails --watchdog_failures times in a
// row, and SERVING again once it answers; the process goes on serving gRPC meanwhile.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e_http.h"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

TEST(HttpReadinessTest, AnHttpPortThatDoesNotAnswerTurnsHealthNotServingUntilItDoes) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  // One HTTP worker and one batch slot: an HTTP request queued in the engine behind long gRPC
  // requests holds the HTTP port for as long as they run, as every worker held by a real
  // request would.
  Server server({"--http_threads=1", "--batch_size=1", "--queue_size=64", "--watchdog_interval_s=1",
                 "--watchdog_failures=2"});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  const int grpc_port = server.process->port();
  ASSERT_TRUE(WaitUntil([&] { return FreshHealthServing(grpc_port, absl::Seconds(10)) == true; },
                        absl::Seconds(60)));
  // The hold must outlast a few readiness probes on this machine: how long one long request
  // takes here sets how many go ahead of the HTTP one.
  const absl::Time t0 = absl::Now();
  trm::v1::SolveResponse one;
  ASSERT_TRUE(Solve(Channel(server.process->address()), Long(1024), &one).ok());
  const absl::Duration per_request = absl::Now() - t0;
  const int ahead =
      std::min(60, 1 + static_cast<int>(std::ceil(8.0 / absl::ToDoubleSeconds(per_request))));
  std::vector<std::thread> callers;
  for (int i = 0; i < ahead; ++i) {
    callers.emplace_back([&] {
      trm::v1::SolveResponse r;
      EXPECT_TRUE(
          Solve(e2e::NewConnection(server.process->address()), Long(1024), &r, absl::Seconds(120))
              .ok());
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return MetricSum(server.Metrics(), "trm_queue_depth") >= ahead - 1; },
                        absl::Seconds(60)))
      << server.Metrics();
  int http_status = 0;
  std::thread http_caller([&] {
    http_status = e2e::HttpCall(server.process->http_port(), "POST", "/v1/solve",
                                absl::StrCat("{\"sudoku\": \"", kSudoku,
                                             "\", \"options\": {\"ignoreHalting\": true, "
                                             "\"maxSteps\": 1024}}"),
                                {}, absl::Seconds(120))
                      .status;
  });
  const absl::Time held = absl::Now();
  const bool not_serving = WaitUntil(
      [&] { return FreshHealthServing(grpc_port, absl::Seconds(10)) == false; }, absl::Seconds(60));
  const absl::Duration to_not_serving = absl::Now() - held;
  EXPECT_TRUE(not_serving) << "health stayed SERVING while the HTTP port could not answer";
  // gRPC itself still serves meanwhile.
  grpc::ClientContext c;
  SetDeadline(&c, absl::Seconds(30));
  trm::v1::ListModelsResponse models;
  EXPECT_TRUE(trm::v1::Solver::NewStub(Channel(server.process->address()))
                  ->ListModels(&c, trm::v1::ListModelsRequest(), &models)
                  .ok());
  for (auto& t : callers) t.join();
  http_caller.join();
  EXPECT_EQ(http_status, 200);
  const absl::Time freed = absl::Now();
  EXPECT_TRUE(WaitUntil([&] { return FreshHealthServing(grpc_port, absl::Seconds(10)) == true; },
                        absl::Seconds(60)))
      << "health did not come back once the HTTP port answered";
  const absl::Duration to_serving = absl::Now() - freed;
  EXPECT_TRUE(WaitMetric(server.process->metrics_port(), "trm_health_serving", 1));
  const std::string log = server.process->child().Log();
  EXPECT_TRUE(absl::StrContains(log, "found the HTTP port not answering")) << log;
  EXPECT_TRUE(absl::StrContains(log, "the HTTP port answers again")) << log;
  std::printf(
      "HTTP port held by %d long requests (%s each): health NOT_SERVING after %s, SERVING again "
      "%s after the port was free\n",
      ahead, absl::FormatDuration(absl::Trunc(per_request, absl::Milliseconds(1))).c_str(),
      absl::FormatDuration(absl::Trunc(to_not_serving, absl::Milliseconds(10))).c_str(),
      absl::FormatDuration(absl::Trunc(to_serving, absl::Milliseconds(10))).c_str());
}

}  // namespace
}  // namespace trm::reliability
