// The request is the unit: one request of 8 dihedral views moves every per-request counter by
// exactly one (docs/metrics.md, "Requests and rows"), on a real trm-server whose counters start
// at zero.
#include <gtest/gtest.h>

#include <sstream>

#include "absl/time/clock.h"
#include "tests/e2e_grpc.h"
#include "tests/e2e_util.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::e2e {
namespace {

// The sum of every series whose line starts with `prefix`.
double Sum(const std::string& text, const std::string& prefix) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

TEST(RequestMetricsTest, OneEightViewRequestCountsOnceInEveryPerRequestMetric) {
  TempDir dir;
  const std::string ckpt =
      MakeCheckpoint(dir.path(), "maze",
                     {"--task=maze", "--maze_side=9", "--halt_max_steps=4", "--dihedral_views=8"});
  ASSERT_FALSE(ckpt.empty()) << "trm-init-checkpoint failed";
  ServerProcess server(dir.path() + "/server.log", {"--checkpoints=" + ckpt});
  ASSERT_TRUE(server.ok()) << server.child().Log();

  trm::v1::SolveRequest request;
  for (const char* row : {"#########", "#S    # #", "# ### # #", "#   #   #", "### # ###",
                          "#   #  G#", "#########"}) {
    request.mutable_maze()->add_rows(row);
  }
  trm::v1::SolveResponse response;
  grpc::Status status = Solve(Channel(server.address()), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(response.views(), 1);
  EXPECT_LE(response.views(), 8);
  EXPECT_GE(response.views_agreeing(), 1);
  EXPECT_LE(response.views_agreeing(), response.views());

  const std::string m = HttpGet(server.metrics_port(), "/metrics").value_or("");
  for (const char* counter :
       {"trm_requests_total{code=\"OK\",method=\"Solve\",model=\"maze\"}",
        "trm_request_duration_seconds_count{method=\"Solve\",model=\"maze\"}",
        "trm_halt_reasons_total{model=\"maze\"", "trm_act_steps_count{model=\"maze\"}",
        "trm_queue_wait_seconds_count{model=\"maze\"}", "trm_compute_seconds_count{model=\"maze\"}",
        "trm_views_count{model=\"maze\"}", "trm_answers_total{model=\"maze\""}) {
    EXPECT_EQ(Sum(m, counter), 1) << counter << "\n" << m;
  }
  EXPECT_EQ(Sum(m, "trm_views_sum{model=\"maze\"}"), response.views()) << m;
  // The batch figures are rows and steps: all 8 views ran as rows of the same batched steps.
  EXPECT_GE(Sum(m, "trm_batch_steps_total{model=\"maze\"}"), response.steps()) << m;
  // The views still running when the vote was decided leave their slots at the next step
  // boundary, just after the answer: wait for that (bounded only to turn a hang into a failure).
  for (const char* gauge :
       {"trm_active_requests{model=\"maze\"}", "trm_active_rows{model=\"maze\"}"}) {
    bool zero = false;
    for (const absl::Time until = absl::Now() + absl::Seconds(60); !zero && absl::Now() < until;) {
      zero = Sum(HttpGet(server.metrics_port(), "/metrics").value_or(""), gauge) == 0;
    }
    EXPECT_TRUE(zero) << gauge;
  }
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace trm::e2e
