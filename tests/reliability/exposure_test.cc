// What the server exposes about requests: /metrics, grpc.health.v1 and the server log carry no
// request contents (puzzles, request ids, ARC task ids, unknown model names), whether the request
// was answered, rejected or refused. Metric labels name only loaded models.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using grpc::StatusCode;
using trm::v1::SolveRequest;

// A valid sudoku other than kSudoku, and markers that no metric or log line has a reason to hold.
constexpr char kPuzzle[] =
    "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..";
constexpr char kRequestId[] = "rid-canary-7f3a9c2e";
constexpr char kModelName[] = "model-canary-5d1b";
constexpr char kTaskId[] = "task-canary-e4c8";
constexpr char kBadPuzzle[] = "sudoku-canary-0b6f";
// Named by a token holder in a reload: the log records operator actions (not /metrics).
constexpr char kOperatorModel[] = "operator-model-3e91";

std::vector<std::string> Canaries() {
  return {kPuzzle, kRequestId, kModelName, kTaskId, kBadPuzzle, "canary"};
}

// Every kind of outcome, each as Solve and SolveSteps: OK, INVALID_ARGUMENT (bad puzzle),
// NOT_FOUND (unknown model, unknown ARC task), INVALID_ARGUMENT (no puzzle), a model name over the
// name limit.
std::vector<std::pair<SolveRequest, StatusCode>> Requests() {
  std::vector<std::pair<SolveRequest, StatusCode>> out;
  SolveRequest ok;
  ok.set_sudoku(kPuzzle);
  ok.set_request_id(kRequestId);
  out.push_back({ok, StatusCode::OK});
  SolveRequest named = ok;
  named.set_model("sudoku");
  out.push_back({named, StatusCode::OK});
  SolveRequest bad = ok;
  bad.set_sudoku(kBadPuzzle);
  out.push_back({bad, StatusCode::INVALID_ARGUMENT});
  SolveRequest unknown = ok;
  unknown.set_model(kModelName);
  out.push_back({unknown, StatusCode::NOT_FOUND});
  SolveRequest long_name = ok;
  long_name.set_model(absl::StrCat(kModelName, std::string(300, 'x')));
  out.push_back({long_name, StatusCode::NOT_FOUND});
  SolveRequest arc;
  arc.set_request_id(kRequestId);
  arc.mutable_arc()->set_task_id(kTaskId);
  auto* g = arc.mutable_arc()->mutable_input();
  g->set_rows(1);
  g->set_cols(2);
  g->add_cells(1);
  g->add_cells(2);
  out.push_back({arc, StatusCode::NOT_FOUND});
  SolveRequest empty;
  empty.set_request_id(kRequestId);
  empty.set_model(kModelName);
  out.push_back({empty, StatusCode::INVALID_ARGUMENT});
  return out;
}

TEST(ExposureTest, MetricsHealthAndLogCarryNoRequestContents) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({std::string("--admin_token=") + kAdminToken});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  auto ch = Channel(server.process->address());
  auto stub = trm::v1::Solver::NewStub(ch);
  int sent = 0;
  for (const auto& [req, want] : Requests()) {
    trm::v1::SolveResponse resp;
    grpc::Status s = Solve(ch, req, &resp);
    EXPECT_EQ(s.error_code(), want)
        << req.ShortDebugString().substr(0, 200) << ": " << s.error_message();
    if (s.ok()) {
      EXPECT_EQ(resp.request_id(), kRequestId);  // Echoed to the caller only.
    }
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(30));
    auto reader = stub->SolveSteps(&c, req);
    trm::v1::SolveStep step;
    while (reader->Read(&step)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), want);
    sent += 2;
  }
  // Admin with an unknown model name, without the token (nothing may record it) and with it.
  auto admin = trm::v1::Admin::NewStub(ch);
  for (const std::string& auth :
       {std::string(""), std::string("Bearer wrong"), std::string("Bearer ") + kAdminToken}) {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(30));
    if (!auth.empty()) c.AddMetadata("authorization", auth);
    trm::v1::ReloadModelRequest req;
    req.set_name(auth.find(kAdminToken) == std::string::npos ? kModelName : kOperatorModel);
    req.set_checkpoint_path(SharedCheckpoints().sudoku);
    trm::v1::ReloadModelResponse resp;
    EXPECT_FALSE(admin->ReloadModel(&c, req, &resp).ok());
  }

  // Health: overall, per model, and an unknown service named like a request's model.
  auto health = grpc::health::v1::Health::NewStub(ch);
  std::string health_text;
  const std::vector<std::string> services = {"", "sudoku", "maze", "tokens", "arc", kModelName};
  for (const std::string& service : services) {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = health->Check(&c, req, &resp);
    EXPECT_EQ(s.error_code(), service == kModelName ? StatusCode::NOT_FOUND : StatusCode::OK)
        << service;
    if (s.ok()) {
      EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
    }
    absl::StrAppend(&health_text, resp.ShortDebugString(), " ", s.error_message(), "\n");
  }

  // Every request was counted (so the test looks where the requests are recorded); polled,
  // bounded at 30 s only against a hang.
  std::string metrics;
  for (const absl::Time end = absl::Now() + absl::Seconds(30); absl::Now() < end;) {
    metrics = server.Metrics();
    if (MetricSumWith(metrics, "trm_requests_total", "method=\"Solve") == sent) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(MetricSumWith(metrics, "trm_requests_total", "method=\"Solve"), sent) << metrics;
  EXPECT_EQ(MetricSumWith(metrics, "trm_requests_total", "method=\"ReloadModel"), 3) << metrics;
  EXPECT_EQ(metrics.find(kOperatorModel), std::string::npos) << metrics;
  const std::string log = server.process->child().Log();
  // The one reload that got past the token is logged, as operator actions are.
  EXPECT_NE(log.find(absl::StrCat("reload of ", kOperatorModel)), std::string::npos) << log;
  for (const std::string& canary : Canaries()) {
    EXPECT_EQ(metrics.find(canary), std::string::npos) << canary << " in /metrics:\n" << metrics;
    EXPECT_EQ(health_text.find(canary), std::string::npos) << canary << " in health:\n"
                                                           << health_text;
    EXPECT_EQ(log.find(canary), std::string::npos) << canary << " in the log:\n" << log;
  }
  // Labels name loaded models only (empty for requests that resolved to none).
  const std::set<std::string> loaded = {"", "sudoku", "maze", "tokens", "arc"};
  const std::regex model_label("model=\"([^\"]*)\"");
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    for (std::sregex_iterator it(line.begin(), line.end(), model_label), end; it != end; ++it) {
      EXPECT_TRUE(loaded.count((*it)[1])) << line;
    }
  }
  std::printf(
      "exposure: %d requests and 3 reloads with canaries; /metrics %zu bytes, log %zu "
      "bytes: no canary in either or in health\n",
      sent, metrics.size(), log.size());
}

}  // namespace
}  // namespace trm::reliability
