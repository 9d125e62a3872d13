// The HTTP/JSON API of a real trm-server on loopback, on the bundled checkpoints: every endpoint,
// the same answers as gRPC, the step stream, errors as JSON with the matching HTTP status, request
// metrics, clients that go away (their slot freed), deadlines, draining, and the web page's files.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "tests/e2e_grpc.h"
#include "tests/e2e_http.h"
#include "tests/e2e_util.h"

namespace trm::e2e {
namespace {

using nlohmann::json;

// A 32-given sudoku the bundled model solves in 2 ACT steps.
constexpr char kSudoku[] =
    "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..";
constexpr char kEasySudoku[] =
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";

std::string Checkpoints() { return Env("TRM_SOURCE_DIR") + "/checkpoints"; }

// Polls /metrics until the series' sum is `want` (or, with at_least, at least `want`).
bool WaitForMetric(int port, const std::string& prefix, double want, bool at_least = false,
                   absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    auto text = HttpGet(port, "/metrics");
    if (text && (at_least ? MetricSum(*text, prefix) >= want : MetricSum(*text, prefix) == want)) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

// A request that runs 1,024 ACT steps in 8 views: seconds to minutes of work on any CPU, so it
// is still running when a test cuts it off.
std::string LongRequest() {
  return json({{"sudoku", kEasySudoku}, {"options", {{"ignoreHalting", true}, {"maxSteps", 1024}}}})
      .dump();
}

class HttpApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(dir_->path() + "/server.log",
                                {"--checkpoints=" + Checkpoints(), "--http_max_body_bytes=65536",
                                 "--batch_size=4", "--drain_timeout_s=2"});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ok()) << server_->child().Log();
    ASSERT_GT(server_->http_port(), 0) << server_->child().Log();
  }
  static int port() { return server_->http_port(); }
  static std::string Metrics() { return HttpGet(server_->metrics_port(), "/metrics").value_or(""); }

  static TempDir* dir_;
  static ServerProcess* server_;
};
TempDir* HttpApiTest::dir_ = nullptr;
ServerProcess* HttpApiTest::server_ = nullptr;

TEST_F(HttpApiTest, HealthReadinessModelsAndExamples) {
  HttpReply live = HttpCall(port(), "GET", "/healthz");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(json::parse(live.body)["status"], "ok");
  HttpReply ready = HttpCall(port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(json::parse(ready.body)["status"], "ready");

  HttpReply models = HttpCall(port(), "GET", "/v1/models");
  ASSERT_EQ(models.status, 200) << models.body;
  EXPECT_EQ(models.headers["content-type"], "application/json");
  std::map<std::string, json> by_name;
  const json listed = json::parse(models.body);
  for (const auto& m : listed["models"]) by_name[m["name"].get<std::string>()] = m;
  ASSERT_TRUE(by_name.count("sudoku") && by_name.count("maze")) << models.body;
  EXPECT_EQ(by_name["sudoku"]["task"], "sudoku");
  EXPECT_EQ(by_name["sudoku"]["seqLen"], 81);
  EXPECT_EQ(by_name["maze"]["mazeSide"], 9);
  EXPECT_EQ(by_name["sudoku"]["isDefault"], true);

  HttpReply sudoku = HttpCall(port(), "GET", "/v1/example?model=sudoku&difficulty=hard&seed=4");
  ASSERT_EQ(sudoku.status, 200) << sudoku.body;
  const json s = json::parse(sudoku.body);
  EXPECT_EQ(s["model"], "sudoku");
  EXPECT_EQ(s["sudoku"].get<std::string>().size(), 81u);
  EXPECT_EQ(HttpCall(port(), "GET", "/v1/example?model=sudoku&difficulty=hard&seed=4").body,
            sudoku.body);
  HttpReply maze = HttpCall(port(), "GET", "/v1/example?model=maze&seed=4");
  ASSERT_EQ(maze.status, 200) << maze.body;
  EXPECT_EQ(json::parse(maze.body)["maze"]["rows"].size(), 9u);
  EXPECT_EQ(json::parse(HttpCall(port(), "GET", "/v1/example").body)["model"], "sudoku");

  const std::pair<const char*, std::pair<int, const char*>> bad[] = {
      {"/v1/example?model=nope", {404, "model \"nope\" is not loaded"}},
      {"/v1/example?difficulty=insane", {400, "use easy, medium or hard"}},
      {"/v1/example?seed=-3", {400, "seed \"-3\" is not a whole number"}},
  };
  for (const auto& [path, want] : bad) {
    HttpReply r = HttpCall(port(), "GET", path);
    EXPECT_EQ(r.status, want.first) << path;
    const std::string message = json::parse(r.body)["message"];
    EXPECT_NE(message.find(want.second), std::string::npos) << path << ": " << r.body;
  }
}

TEST_F(HttpApiTest, SolveGivesWhatGrpcGives) {
  for (const std::string& body :
       {json({{"sudoku", kSudoku}, {"requestId", "same-1"}}).dump(),
        json::parse(HttpCall(port(), "GET", "/v1/example?model=maze&seed=11").body).dump()}) {
    HttpReply http = HttpCall(port(), "POST", "/v1/solve", body);
    ASSERT_EQ(http.status, 200) << http.body;
    EXPECT_EQ(http.headers["content-type"], "application/json");
    trm::v1::SolveResponse from_http;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(http.body, &from_http).ok());
    trm::v1::SolveRequest request;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &request).ok());
    trm::v1::SolveResponse from_grpc;
    grpc::Status s = Solve(Channel(server_->address()), request, &from_grpc);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(from_http.answer().SerializeAsString(), from_grpc.answer().SerializeAsString());
    EXPECT_EQ(from_http.steps(), from_grpc.steps());
    EXPECT_EQ(from_http.halt_reason(), from_grpc.halt_reason());
    EXPECT_EQ(from_http.verification(), trm::v1::VERIFICATION_VERIFIED) << http.body;
    EXPECT_EQ(from_http.verification(), from_grpc.verification());
    EXPECT_EQ(from_http.model(), from_grpc.model());
    if (request.request_id() == "same-1") {
      EXPECT_EQ(from_http.request_id(), "same-1");
    }
  }
}

TEST_F(HttpApiTest, StreamSendsEveryStepThenTheFinalResult) {
  const std::string body =
      json({{"sudoku", kSudoku}, {"options", {{"ignoreHalting", true}, {"maxSteps", 4}}}}).dump();
  SseClient stream(port(), "/v1/solve:stream", body);
  ASSERT_EQ(stream.Status(), 200);
  EXPECT_EQ(stream.Header("content-type"), "text/event-stream");
  EXPECT_EQ(stream.Header("cache-control"), "no-cache");
  std::vector<json> steps;
  while (auto event = stream.Next()) {
    EXPECT_EQ(event->name, "message") << event->data;
    steps.push_back(json::parse(event->data));
  }
  ASSERT_EQ(steps.size(), 4u) << json(steps).dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(steps[i]["step"], i + 1);
    EXPECT_FALSE(steps[i].contains("final"));
    EXPECT_EQ(steps[i]["answer"]["sudoku"].get<std::string>().size(), 81u);
    EXPECT_TRUE(steps[i].contains("confidence"));
  }
  const json& last = steps.back();
  EXPECT_EQ(last["step"], 4);
  EXPECT_EQ(last["final"], true);
  EXPECT_EQ(last["result"]["steps"], 4);
  EXPECT_EQ(last["result"]["haltReason"], "HALT_REASON_FIXED_STEPS");
  EXPECT_EQ(last["answer"], last["result"]["answer"]);
  // The unary answer to the same request is the stream's last.
  HttpReply unary = HttpCall(port(), "POST", "/v1/solve", body);
  ASSERT_EQ(unary.status, 200);
  EXPECT_EQ(json::parse(unary.body)["answer"], last["answer"]);
}

TEST_F(HttpApiTest, BadRequestsGetJsonErrorsWithTheMatchingStatus) {
  struct Case {
    std::string body;
    int status;
    std::string code, message;
  };
  const std::vector<Case> cases = {
      {"{\"sudoku\": ", 400, "INVALID_ARGUMENT", "request body: Unexpected end of string"},
      {"not json", 400, "INVALID_ARGUMENT", "request body: Unexpected token"},
      {"", 400, "INVALID_ARGUMENT", "request body: empty"},
      {R"({"sudoku": 5})", 400, "INVALID_ARGUMENT", "(sudoku): invalid value 5"},
      {R"({"options": {"maxSteps": "many"}, "sudoku": "1"})", 400, "INVALID_ARGUMENT",
       "(options.max_steps): invalid value \"many\""},
      {R"({"sudok": "1"})", 400, "INVALID_ARGUMENT", "sudok: Cannot find field"},
      {R"({"sudoku": "1", "options": {"colour": 1}})", 400, "INVALID_ARGUMENT",
       "colour: Cannot find field"},
      {"{\"sudoku\": \"\xff\"}", 400, "INVALID_ARGUMENT", "request body: not UTF-8"},
      {R"({"model": "nope", "sudoku": "1"})", 404, "NOT_FOUND", "model nope is not loaded"},
      {json({{"sudoku", std::string(80, '.') + "x"}}).dump(), 400, "INVALID_ARGUMENT",
       "sudoku: bad character 'x' at position 80"},
      {R"({"requestId": "r"})", 400, "INVALID_ARGUMENT", "no puzzle set"},
      {json({{"sudoku", kSudoku}, {"options", {{"maxSteps", -1}}}}).dump(), 400, "INVALID_ARGUMENT",
       "options.max_steps: -1 is outside"},
      {json({{"maze", {{"rows", {"#S#", "#X#", "#G#"}}}}}).dump(), 400, "INVALID_ARGUMENT", "maze"},
      {json({{"tokens", {{"tokens", {1, 2}}}}}).dump(), 400, "INVALID_ARGUMENT",
       "raw tokens need an explicit model"},
      {json({{"sudoku", kSudoku}, {"requestId", std::string(70000, 'r')}}).dump(), 413,
       "RESOURCE_EXHAUSTED", "request body: larger than the server's limit"},
  };
  for (const char* path : {"/v1/solve", "/v1/solve:stream"}) {
    for (const auto& c : cases) {
      HttpReply r = HttpCall(port(), "POST", path, c.body);
      const std::string where = absl::StrCat(path, " ", c.body.substr(0, 60));
      EXPECT_EQ(r.status, c.status) << where << ": " << r.body;
      EXPECT_EQ(r.headers["content-type"], "application/json") << where;
      json error = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
      ASSERT_TRUE(error.is_object()) << where << ": " << r.body;
      EXPECT_EQ(error["code"], c.code) << where;
      EXPECT_NE(error["message"].get<std::string>().find(c.message), std::string::npos)
          << where << ": " << r.body;
    }
  }
  // Routes: an unknown path, a method the path does not take.
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/solve"}, {"POST", "/v1/models"}, {"GET", "/v2/anything"}}) {
    HttpReply r = HttpCall(port(), method, path, method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 404) << method << " " << path;
    EXPECT_EQ(json::parse(r.body)["code"], "NOT_FOUND") << r.body;
    EXPECT_NE(r.body.find("no endpoint " + method + " " + path), std::string::npos) << r.body;
  }
  HttpReply timeout = HttpCall(port(), "POST", "/v1/solve", json({{"sudoku", kSudoku}}).dump(),
                               {"Grpc-Timeout: soon"});
  EXPECT_EQ(timeout.status, 400);
  EXPECT_NE(timeout.body.find("Grpc-Timeout: \\\"soon\\\" is not a timeout"), std::string::npos)
      << timeout.body;
}

TEST_F(HttpApiTest, RequestsAreCountedLikeGrpcCalls) {
  const std::vector<std::string> series = {
      R"(trm_requests_total{code="OK",method="http:/v1/solve",model="sudoku"})",
      R"(trm_requests_total{code="INVALID_ARGUMENT",method="http:/v1/solve",model=""})",
      R"(trm_requests_total{code="OK",method="http:/v1/solve:stream",model="sudoku"})",
      R"(trm_requests_total{code="OK",method="http:/v1/models",model=""})",
      R"(trm_answers_total{model="sudoku",source="model",verification="verified"})"};
  std::vector<double> before;
  const std::string m0 = Metrics();
  for (const auto& s : series) before.push_back(MetricSum(m0, s));
  HttpCall(port(), "POST", "/v1/solve", json({{"sudoku", kSudoku}}).dump());
  HttpCall(port(), "POST", "/v1/solve", R"({"sudok": "1"})");
  SseClient stream(port(), "/v1/solve:stream", json({{"sudoku", kSudoku}}).dump());
  while (stream.Next()) {
  }
  HttpCall(port(), "GET", "/v1/models");
  HttpCall(port(), "GET", "/healthz");  // Probes are not requests.
  HttpCall(port(), "GET", "/no/such/path");
  const std::string m = Metrics();
  const double want[] = {1, 1, 1, 1, 2};
  for (size_t i = 0; i < series.size(); ++i) {
    EXPECT_EQ(MetricSum(m, series[i]) - before[i], want[i]) << series[i] << "\n" << m;
  }
  // Nothing else about HTTP: no path from a request ever becomes a label.
  EXPECT_EQ(m.find("/no/such/path"), std::string::npos);
  EXPECT_EQ(m.find("healthz"), std::string::npos);
}

TEST_F(HttpApiTest, AClientGoneMidStreamFreesItsSlot) {
  SseClient stream(port(), "/v1/solve:stream", LongRequest());
  ASSERT_EQ(stream.Status(), 200);
  auto first = stream.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(json::parse(first->data)["step"], 1);
  // In slots (one per dihedral view) until the client goes.
  ASSERT_TRUE(WaitForMetric(server_->metrics_port(), "trm_active_requests", 1, true)) << Metrics();
  stream.Close();
  EXPECT_TRUE(WaitForMetric(server_->metrics_port(), "trm_active_requests", 0)) << Metrics();
  EXPECT_TRUE(WaitForMetric(server_->metrics_port(),
                            R"(trm_requests_total{code="CANCELLED",method="http:/v1/solve:stream")",
                            1))
      << Metrics();
  // The server serves on.
  EXPECT_EQ(HttpCall(port(), "POST", "/v1/solve", json({{"sudoku", kSudoku}}).dump()).status, 200);
}

TEST_F(HttpApiTest, AClientGoneDuringSolveFreesItsSlot) {
  {
    RawConnection c(port());
    const std::string body = LongRequest();
    ASSERT_TRUE(c.Send(absl::StrCat(
        "POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Length: ", body.size(), "\r\n\r\n", body)));
    ASSERT_TRUE(WaitForMetric(server_->metrics_port(), "trm_active_requests", 1, true))
        << Metrics();
  }
  EXPECT_TRUE(WaitForMetric(server_->metrics_port(), "trm_active_requests", 0)) << Metrics();
  EXPECT_TRUE(WaitForMetric(server_->metrics_port(),
                            R"(trm_requests_total{code="CANCELLED",method="http:/v1/solve")", 1))
      << Metrics();
}

TEST_F(HttpApiTest, DeadlinesEndRequestsAndStreams) {
  HttpReply r = HttpCall(port(), "POST", "/v1/solve", LongRequest(), {"Grpc-Timeout: 300m"});
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], "DEADLINE_EXCEEDED");
  // A stream has already answered 200: its end is an error event.
  SseClient stream(port(), "/v1/solve:stream", LongRequest(), {"Grpc-Timeout: 300m"});
  ASSERT_EQ(stream.Status(), 200);
  std::optional<SseClient::Event> last;
  while (auto event = stream.Next()) last = event;
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->name, "error");
  EXPECT_EQ(json::parse(last->data)["code"], "DEADLINE_EXCEEDED") << last->data;
  EXPECT_TRUE(WaitForMetric(server_->metrics_port(), "trm_active_requests", 0));
}

TEST_F(HttpApiTest, TheWebPageIsServedSelfContained) {
  HttpReply page = HttpCall(port(), "GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>TRM Serve"), std::string::npos);
  const std::string csp = page.headers["content-security-policy"];
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  const std::pair<const char*, const char*> files[] = {
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/style.css", "text/css; charset=utf-8"},
      {"/favicon.svg", "image/svg+xml"}};
  for (const auto& [path, type] : files) {
    HttpReply r = HttpCall(port(), "GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.headers["content-type"], type) << path;
    EXPECT_GT(r.body.size(), 100u) << path;
    // Nothing is fetched from elsewhere.
    EXPECT_EQ(r.body.find("http://"), r.body.find("http://www.w3.org/2000/svg")) << path;
    EXPECT_EQ(r.body.find("https://"), std::string::npos) << path;
  }
}

// Its own server: draining ends it.
TEST(HttpDrainTest, DrainingAnswersNotReadyAndEndsStreamsThenExitsZero) {
  TempDir dir;
  ServerProcess server(dir.path() + "/server.log",
                       {"--checkpoints=" + Checkpoints(), "--drain_timeout_s=2"});
  ASSERT_TRUE(server.ok() && server.http_port() > 0) << server.child().Log();
  SseClient stream(server.http_port(), "/v1/solve:stream", LongRequest());
  ASSERT_EQ(stream.Status(), 200);
  ASSERT_TRUE(stream.Next().has_value());
  server.child().Signal(SIGTERM);
  // Until the drain ends, HTTP answers: live, not ready, new solves refused.
  HttpReply ready;
  const absl::Time end = absl::Now() + absl::Seconds(30);
  do {
    ready = HttpCall(server.http_port(), "GET", "/readyz");
  } while (ready.status == 200 && absl::Now() < end);
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("server is shutting down"), std::string::npos) << ready.body;
  EXPECT_EQ(json::parse(ready.body)["code"], "UNAVAILABLE");
  HttpReply solve =
      HttpCall(server.http_port(), "POST", "/v1/solve", json({{"sudoku", kSudoku}}).dump());
  EXPECT_EQ(solve.status, 503) << solve.body;
  // The stream that was running is told why it ends.
  std::optional<SseClient::Event> last;
  while (auto event = stream.Next()) last = event;
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->name, "error");
  EXPECT_EQ(json::parse(last->data)["code"], "UNAVAILABLE") << last->data;
  EXPECT_EQ(server.child().Wait(absl::Seconds(60)), 0) << server.child().Log();
}

}  // namespace
}  // namespace trm::e2e
