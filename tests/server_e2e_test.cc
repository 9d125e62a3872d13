// End-to-end: a real trm-server process on loopback with small random-init checkpoints made by
// trm-init-checkpoint, called through gRPC, trm-client, the Python example and Prometheus.
// Random weights mean answers are usually wrong: the tests check the mechanics (codes, steps,
// streams, slots, health, metrics), never the answers' correctness.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/e2e_grpc.h"
#include "tests/e2e_util.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::e2e {
namespace {

using grpc::StatusCode;
using trm::v1::SolveRequest;

constexpr char kSudoku[] =
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";
const std::vector<std::string> kMaze = {"#########", "#S    # #", "# ### # #", "#   #   #",
                                        "### # ###", "#   #  G#", "#########"};
constexpr char kArcTask[] = "00576224";
constexpr char kAdminToken[] = "e2e-admin-token";

SolveRequest Sudoku(const std::string& model = "") {
  SolveRequest r;
  r.set_model(model);
  r.set_sudoku(kSudoku);
  return r;
}

SolveRequest Maze() {
  SolveRequest r;
  for (const auto& row : kMaze) r.mutable_maze()->add_rows(row);
  return r;
}

SolveRequest Arc(const std::string& task = kArcTask) {
  SolveRequest r;
  r.mutable_arc()->set_task_id(task);
  auto* g = r.mutable_arc()->mutable_input();
  g->set_rows(2);
  g->set_cols(3);
  for (int v : {1, 2, 3, 4, 5, 6}) g->add_cells(v);
  r.mutable_options()->set_arc_augmentations(2);
  return r;
}

SolveRequest Tokens() {
  SolveRequest r;
  r.set_model("tokens");
  for (int i = 0; i < 16; ++i) r.mutable_tokens()->add_tokens(i % 8);
  return r;
}

// A request that runs for a while: `steps` ACT steps regardless of the Q head.
SolveRequest Long(int steps, const std::string& model = "") {
  SolveRequest r = Sudoku(model);
  r.mutable_options()->set_ignore_halting(true);
  r.mutable_options()->set_max_steps(steps);
  return r;
}

double MetricValue(const std::string& text, const std::string& series_prefix) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series_prefix, 0) == 0) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// One server for most tests: four models (sudoku, maze 9x9, arc, raw tokens) and Admin.
class E2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string ckpts = dir_->path() + "/checkpoints";
    std::filesystem::create_directories(ckpts);
    const std::string ids = dir_->path() + "/identifiers.json";
    std::ofstream(ids) << R"(["<blank>", ")" << kArcTask << R"(", ")" << kArcTask
                       << R"(|||t1|||0123456789"])";
    ok_ = !MakeCheckpoint(ckpts, "sudoku", {"--task=sudoku", "--halt_max_steps=4"}).empty() &&
          !MakeCheckpoint(ckpts, "maze",
                          {"--task=maze", "--maze_side=9", "--halt_max_steps=4",
                           "--halt_threshold=0.8", "--dihedral_views=8"})
               .empty() &&
          !MakeCheckpoint(ckpts, "arc",
                          {"--task=arc", "--halt_max_steps=2", "--puzzle_identifiers=" + ids})
               .empty() &&
          !MakeCheckpoint(ckpts, "tokens",
                          {"--task=tokens", "--seq_len=16", "--vocab=8", "--halt_max_steps=4"})
               .empty() &&
          !MakeCheckpoint(dir_->path(), "sudoku_v2",
                          {"--task=sudoku", "--halt_max_steps=4", "--seed=2"})
               .empty();
    ckpts_ = ckpts;
    if (!ok_) return;
    // sudoku_v2 lies beside checkpoints/, outside the default root: Admin may read all of dir_.
    server_ = new ServerProcess(dir_->path() + "/server.log",
                                {"--checkpoints=" + ckpts, "--checkpoint_roots=" + dir_->path(),
                                 std::string("--admin_token=") + kAdminToken});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(ok_) << "trm-init-checkpoint failed";
    ASSERT_TRUE(server_->ok()) << server_->child().Log();
    ch_ = Channel(server_->address());
  }
  std::string Metrics() { return HttpGet(server_->metrics_port(), "/metrics").value_or(""); }

  static TempDir* dir_;
  static ServerProcess* server_;
  static bool ok_;
  static std::string ckpts_;
  std::shared_ptr<grpc::Channel> ch_;
};
TempDir* E2eTest::dir_ = nullptr;
ServerProcess* E2eTest::server_ = nullptr;
bool E2eTest::ok_ = false;
std::string E2eTest::ckpts_;

TEST_F(E2eTest, ListModelsShowsEveryCheckpoint) {
  grpc::ClientContext c;
  SetDeadline(&c, absl::Seconds(10));
  trm::v1::ListModelsResponse resp;
  ASSERT_TRUE(trm::v1::Solver::NewStub(ch_)->ListModels(&c, {}, &resp).ok());
  std::map<std::string, trm::v1::ModelInfo> by_name;
  for (const auto& m : resp.models()) by_name[m.name()] = m;
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_EQ(by_name["sudoku"].task(), "sudoku");
  EXPECT_EQ(by_name["sudoku"].seq_len(), 81);
  EXPECT_EQ(by_name["maze"].seq_len(), 81);
  EXPECT_EQ(by_name["tokens"].vocab_size(), 8);
  EXPECT_TRUE(by_name["sudoku"].is_default());
  EXPECT_GT(by_name["sudoku"].parameters(), 0);
  EXPECT_EQ(by_name["sudoku"].device(), "cpu");
  // The maze checkpoint names its calibrated threshold; the others get the server's default.
  EXPECT_FLOAT_EQ(by_name["maze"].halt_threshold(), 0.8f);
  EXPECT_FLOAT_EQ(by_name["sudoku"].halt_threshold(), 0.5f);
  EXPECT_EQ(by_name["maze"].dihedral_views(), 8);  // Every maze request below runs 8 views.
  EXPECT_EQ(by_name["sudoku"].dihedral_views(), 1);
}

TEST_F(E2eTest, SolveEachKind) {
  trm::v1::SolveResponse r;
  grpc::Status s = Solve(ch_, Sudoku(), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.model(), "sudoku");
  EXPECT_EQ(r.answer().sudoku().size(), 81u);
  EXPECT_GE(r.steps(), 1);
  EXPECT_LE(r.steps(), 4);
  EXPECT_NE(r.verification(), trm::v1::VERIFICATION_UNSPECIFIED);
  EXPECT_EQ(r.source(), trm::v1::ANSWER_SOURCE_MODEL);
  EXPECT_GT(r.timing().total_ms(), 0);
  EXPECT_FALSE(r.request_id().empty());

  SolveRequest fixed = Sudoku();
  fixed.mutable_options()->set_ignore_halting(true);
  fixed.mutable_options()->set_max_steps(3);
  fixed.set_request_id("my-id");
  ASSERT_TRUE(Solve(ch_, fixed, &r).ok());
  EXPECT_EQ(r.steps(), 3);
  EXPECT_EQ(r.halt_reason(), trm::v1::HALT_REASON_FIXED_STEPS);
  EXPECT_EQ(r.request_id(), "my-id");

  // exact_fallback: a random model's answer fails verification, so the exact solver answers.
  SolveRequest fallback = Sudoku();
  fallback.mutable_options()->set_exact_fallback(true);
  ASSERT_TRUE(Solve(ch_, fallback, &r).ok());
  EXPECT_EQ(r.verification(), trm::v1::VERIFICATION_VERIFIED);
  EXPECT_EQ(r.answer().sudoku().find('0'), std::string::npos) << r.answer().sudoku();

  s = Solve(ch_, Maze(), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.model(), "maze");
  EXPECT_TRUE(r.answer().has_maze() || r.answer().has_tokens());
  SolveRequest maze_fallback = Maze();
  maze_fallback.mutable_options()->set_exact_fallback(true);
  ASSERT_TRUE(Solve(ch_, maze_fallback, &r).ok());
  EXPECT_EQ(r.verification(), trm::v1::VERIFICATION_VERIFIED);
  ASSERT_EQ(r.answer().maze().rows_size(), static_cast<int>(kMaze.size()));
  if (r.source() == trm::v1::ANSWER_SOURCE_EXACT_SOLVER) {
    EXPECT_NE(r.answer().maze().rows(1).find('o'), std::string::npos);
  }

  s = Solve(ch_, Arc(), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.model(), "arc");
  EXPECT_GE(r.arc_attempts_size(), 1);
  EXPECT_EQ(r.verification(), trm::v1::VERIFICATION_NOT_CHECKABLE);

  s = Solve(ch_, Tokens(), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.answer().tokens().tokens_size(), 16);
}

TEST_F(E2eTest, SolveStepsStreamsEveryStepThenTheResult) {
  for (const SolveRequest& base : {Sudoku(), Maze(), Tokens(), Arc()}) {
    SolveRequest req = base;
    req.mutable_options()->set_ignore_halting(true);
    req.mutable_options()->set_max_steps(2);
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(30));
    auto reader = trm::v1::Solver::NewStub(ch_)->SolveSteps(&c, req);
    std::vector<trm::v1::SolveStep> steps;
    for (trm::v1::SolveStep step; reader->Read(&step);) steps.push_back(step);
    grpc::Status s = reader->Finish();
    ASSERT_TRUE(s.ok()) << req.puzzle_case() << ": " << s.error_message();
    ASSERT_FALSE(steps.empty());
    const auto& last = steps.back();
    EXPECT_TRUE(last.final());
    EXPECT_TRUE(last.has_result());
    for (size_t i = 0; i + 1 < steps.size(); ++i) EXPECT_FALSE(steps[i].final());
    if (!req.has_arc()) {  // ARC streams only its voted result.
      ASSERT_EQ(steps.size(), 2u) << req.puzzle_case();
      EXPECT_EQ(steps[0].step(), 1);
      EXPECT_EQ(last.step(), 2);
      EXPECT_EQ(last.result().steps(), 2);
      EXPECT_EQ(last.answer().SerializeAsString(), last.result().answer().SerializeAsString());
    }
  }
}

TEST_F(E2eTest, InvalidArgumentNamesTheProblem) {
  trm::v1::SolveResponse r;
  SolveRequest bad = Sudoku();
  bad.set_sudoku(std::string(kSudoku).replace(17, 1, "x"));
  grpc::Status s = Solve(ch_, bad, &r);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("bad character 'x' at position 17"), std::string::npos)
      << s.error_message();

  SolveRequest conflict = Sudoku();
  conflict.set_sudoku(std::string("55") + std::string(kSudoku).substr(2));
  s = Solve(ch_, conflict, &r);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("appears twice"), std::string::npos) << s.error_message();

  SolveRequest wrong_kind = Maze();
  wrong_kind.set_model("sudoku");
  s = Solve(ch_, wrong_kind, &r);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("serves sudoku puzzles, not maze"), std::string::npos)
      << s.error_message();

  SolveRequest range = Sudoku();
  range.mutable_options()->set_max_steps(-3);
  s = Solve(ch_, range, &r);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("max_steps"), std::string::npos);

  SolveRequest empty;
  EXPECT_EQ(Solve(ch_, empty, &r).error_code(), StatusCode::INVALID_ARGUMENT);
  SolveRequest tokens = Tokens();
  tokens.mutable_tokens()->add_tokens(1);
  EXPECT_EQ(Solve(ch_, tokens, &r).error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(E2eTest, NotFoundForUnknownModelOrArcTask) {
  trm::v1::SolveResponse r;
  grpc::Status s = Solve(ch_, Sudoku("no-such-model"), &r);
  EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("no-such-model"), std::string::npos) << s.error_message();
  s = Solve(ch_, Arc("ffffffff"), &r);
  EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND) << s.error_message();
}

// A deadline that passes before the work can be done: DEADLINE_EXCEEDED. The deadline is half of
// what 64 steps take here (measured, round trip included), so the 1024-step request cannot finish
// in time however fast or loaded the machine is.
TEST_F(E2eTest, DeadlineExceeded) {
  trm::v1::SolveResponse r;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Solve(ch_, Long(64), &r).ok());
  const absl::Duration t64 = absl::Now() - start;
  grpc::Status s = Solve(ch_, Long(1024), &r, t64 / 2);
  EXPECT_EQ(s.error_code(), StatusCode::DEADLINE_EXCEEDED)
      << s.error_message() << "; 64 steps took " << t64;
}

TEST_F(E2eTest, HealthOverallAndPerModel) {
  auto health = grpc::health::v1::Health::NewStub(ch_);
  for (const char* service : {"", "sudoku", "maze", "arc", "tokens"}) {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(&c, req, &resp).ok()) << service;
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
  grpc::ClientContext c;
  SetDeadline(&c, absl::Seconds(5));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("no-such-model");
  grpc::health::v1::HealthCheckResponse resp;
  EXPECT_EQ(health->Check(&c, req, &resp).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(E2eTest, ReflectionListsServicesAndDescribesThem) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(ch_);
  grpc::ClientContext c;
  SetDeadline(&c, absl::Seconds(10));
  auto stream = stub->ServerReflectionInfo(&c);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  ASSERT_TRUE(stream->Write(req));
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::set<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.insert(s.name());
  EXPECT_TRUE(names.count("trm.v1.Solver")) << resp.DebugString();
  EXPECT_TRUE(names.count("trm.v1.Admin"));
  EXPECT_TRUE(names.count("grpc.health.v1.Health"));
  req.set_file_containing_symbol("trm.v1.Solver");
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_GE(resp.file_descriptor_response().file_descriptor_proto_size(), 1);
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(resp.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.package(), "trm.v1");
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(E2eTest, AdminNeedsTheToken) {
  auto admin = trm::v1::Admin::NewStub(ch_);
  trm::v1::ReloadModelRequest req;
  req.set_name("sudoku");
  req.set_checkpoint_path(dir_->path() + "/sudoku_v2");
  auto call = [&](const std::string& auth, trm::v1::ReloadModelResponse* resp) {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(30));
    if (!auth.empty()) c.AddMetadata("authorization", auth);
    return admin->ReloadModel(&c, req, resp);
  };
  trm::v1::ReloadModelResponse resp;
  EXPECT_EQ(call("", &resp).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("Basic abc", &resp).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("Bearer wrong-token", &resp).error_code(), StatusCode::PERMISSION_DENIED);

  grpc::ClientContext lc;
  trm::v1::ListModelsResponse before;
  ASSERT_TRUE(trm::v1::Solver::NewStub(ch_)->ListModels(&lc, {}, &before).ok());
  grpc::Status s = call(std::string("Bearer ") + kAdminToken, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.model().name(), "sudoku");
  for (const auto& m : before.models()) {
    if (m.name() == "sudoku") {
      EXPECT_NE(m.version(), resp.model().version());
    }
  }
  trm::v1::SolveResponse r;
  ASSERT_TRUE(Solve(ch_, Sudoku(), &r).ok());
  EXPECT_EQ(r.model_version(), resp.model().version());

  req.set_name("no-such-model");
  EXPECT_EQ(call(std::string("Bearer ") + kAdminToken, &resp).error_code(), StatusCode::NOT_FOUND);
  req.set_name("sudoku");
  req.set_checkpoint_path(dir_->path() + "/missing");
  grpc::Status missing = call(std::string("Bearer ") + kAdminToken, &resp);
  EXPECT_EQ(missing.error_code(), StatusCode::NOT_FOUND) << missing.error_message();
  // Outside --checkpoint_roots: refused before anything is read, the path and roots named.
  TempDir outside;
  std::filesystem::copy(dir_->path() + "/sudoku_v2", outside.path() + "/sudoku_v2",
                        std::filesystem::copy_options::recursive);
  req.set_checkpoint_path(outside.path() + "/sudoku_v2");
  grpc::Status refused = call(std::string("Bearer ") + kAdminToken, &resp);
  EXPECT_EQ(refused.error_code(), StatusCode::PERMISSION_DENIED) << refused.error_message();
  EXPECT_NE(refused.error_message().find(outside.path() + "/sudoku_v2"), std::string::npos)
      << refused.error_message();
  EXPECT_NE(refused.error_message().find("[" + dir_->path() + "]"), std::string::npos)
      << refused.error_message();
  req.set_checkpoint_path(dir_->path() + "/../" +
                          std::filesystem::path(outside.path()).filename().string() + "/sudoku_v2");
  EXPECT_EQ(call(std::string("Bearer ") + kAdminToken, &resp).error_code(),
            StatusCode::PERMISSION_DENIED);
  // The old weights keep serving after a failed reload.
  EXPECT_TRUE(Solve(ch_, Sudoku(), &r).ok());
}

TEST_F(E2eTest, TrmClientAndPythonExample) {
  const std::string target = "dns:///" + server_->address();
  RunResult r = RunCommand(
      {Env("TRM_CLIENT_BIN"), "solve", "sudoku", kSudoku, "--target=" + target, "--json"},
      absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"steps\""), std::string::npos) << r.output;
  r = RunCommand({Env("TRM_CLIENT_BIN"), "solve", "sudoku", kSudoku, "--target=" + target,
                  "--stream", "--ignore_halting", "--max_steps=3"},
                 absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("final"), std::string::npos) << r.output;
  r = RunCommand({Env("TRM_CLIENT_BIN"), "solve", "sudoku", "x", "--target=" + target},
                 absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("INVALID_ARGUMENT"), std::string::npos) << r.output;
  r = RunCommand({Env("TRM_CLIENT_BIN"), "health", "--target=" + target}, absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SERVING"), std::string::npos);
  r = RunCommand({Env("TRM_CLIENT_BIN"), "models", "--target=" + target}, absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("maze"), std::string::npos);
  r = RunCommand({Env("TRM_CLIENT_BIN"), "bench", "--task=sudoku", "--requests=40",
                  "--concurrency=4", "--puzzles=4", "--target=" + target},
                 absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("requests 40 ok, 0 errors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("overhead ms"), std::string::npos) << r.output;

  const std::string py = Env("TRM_SOURCE_DIR") + "/client/python/solve.py";
  r = RunCommand({"/usr/bin/python3", py, "--stubs", Env("TRM_PROTO_PYTHON"), "--target",
                  server_->address(), "sudoku", kSudoku},
                 absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"model\": \"sudoku\""), std::string::npos) << r.output;
  r = RunCommand({"/usr/bin/python3", py, "--stubs", Env("TRM_PROTO_PYTHON"), "--target",
                  server_->address(), "--stream", "--max_steps=2", "sudoku", kSudoku},
                 absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"final\": true"), std::string::npos) << r.output;
  r = RunCommand({"/usr/bin/python3", py, "--stubs", Env("TRM_PROTO_PYTHON"), "--target",
                  server_->address(), "--model=nope", "sudoku", kSudoku},
                 absl::Seconds(60));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("NOT_FOUND"), std::string::npos) << r.output;
}

TEST_F(E2eTest, PrometheusScrapesTheMetrics) {
  trm::v1::SolveResponse r;
  ASSERT_TRUE(Solve(ch_, Sudoku(), &r).ok());
  const std::string text = Metrics();
  EXPECT_GE(MetricValue(text, "trm_requests_total{code=\"OK\",method=\"Solve\",model=\"sudoku\"}"),
            1)
      << text;
  for (const char* name :
       {"trm_request_duration_seconds_bucket", "trm_queue_wait_seconds_count",
        "trm_compute_seconds_count", "trm_act_steps_bucket", "trm_halt_reasons_total",
        "trm_batch_occupancy_ratio_bucket", "trm_batch_steps_total", "trm_queue_depth",
        "trm_active_requests", "trm_answers_total", "trm_model_info", "trm_health_serving 1",
        "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
        "process_start_time_seconds"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }

  const int prom_port = FreePort();
  const std::string config = dir_->path() + "/prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: trm\n"
                        << "    static_configs:\n      - targets: ['127.0.0.1:"
                        << server_->metrics_port() << "']\n";
  Child prom({"/usr/bin/prometheus", "--config.file=" + config,
              "--storage.tsdb.path=" + dir_->path() + "/tsdb",
              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
             dir_->path() + "/prometheus.log");
  // Poll the query API until the scrape has landed (a few seconds), bounded at 90 s only
  // against a hang (Prometheus starts slowly on a loaded machine).
  std::string body;
  const absl::Time end = absl::Now() + absl::Seconds(90);
  bool found = false;
  while (absl::Now() < end && !found) {
    absl::SleepFor(absl::Milliseconds(500));
    body = HttpGet(
               prom_port,
               "/api/v1/query?query=trm_requests_total%7Bmethod%3D%22Solve%22%2Ccode%3D%22OK%22%7D")
               .value_or("");
    found = body.find("\"model\":\"sudoku\"") != std::string::npos;
  }
  EXPECT_TRUE(found) << body << "\n" << prom.Log();
  body = HttpGet(prom_port, "/api/v1/query?query=up%7Bjob%3D%22trm%22%7D").value_or("");
  EXPECT_NE(body.find("\"value\":["), std::string::npos);
  EXPECT_NE(body.find("\"1\"]"), std::string::npos) << body;
  prom.Signal(SIGTERM);
  prom.Wait(absl::Seconds(10));
}

}  // namespace
}  // namespace trm::e2e
