// The Solver service's two reactors, in-process on loopback, against a fake engine the test
// drives: what reaches the engine (the request, its deadline, its cancel token) and what reaches
// the client (steps, the answer, the status), for a cancel before and after admission, a client
// gone mid-stream, a stream nobody reads any more, and a deadline.
#include "server/grpc/solver_service.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "puzzle/sudoku.h"

namespace trm::server {
namespace {

constexpr char kPuzzle[] =
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";
constexpr char kSolution[] =
    "534678912672195348198342567859761423426853791713924856961537284287419635345286179";

// An engine that serves one sudoku model and holds every submitted request for the test to
// answer, from the test's own thread (as a completion thread would).
class FakeEngine : public engine::Engine {
 public:
  absl::Status LoadModel(const std::string&, const std::string&, bool) override {
    return absl::UnimplementedError("fake");
  }
  absl::Status ReloadModel(const std::string&, const std::string&) override {
    return absl::UnimplementedError("fake");
  }
  std::vector<engine::ModelInfo> ListModels() const override { return {Info()}; }
  absl::StatusOr<engine::ModelInfo> GetModel(const std::string& name) const override {
    if (name != Info().name) return absl::NotFoundError("model " + name + " is not loaded");
    return Info();
  }
  absl::StatusOr<engine::ModelInfo> ResolveModel(const std::string& name,
                                                 engine::TaskKind task) const override {
    if (task != engine::TaskKind::kSudoku || !(name.empty() || name == "sudoku")) {
      return absl::NotFoundError("no such model");
    }
    return Info();
  }
  absl::Status Submit(const std::string&, engine::Request request) override {
    std::lock_guard lock(mu_);
    requests_.push_back(std::move(request));
    changed_.notify_all();
    return absl::OkStatus();
  }
  absl::Status SubmitArc(const std::string&, engine::ArcRequest) override {
    return absl::UnimplementedError("fake");
  }
  engine::ModelStats Stats(const std::string&) const override { return {}; }
  void SetObserver(engine::EngineObserver*) override {}
  void Drain(absl::Duration) override {}

  // Waits for the next submitted request and takes it (bounded only to turn a hang into a
  // failure).
  std::optional<engine::Request> Take() {
    std::unique_lock lock(mu_);
    if (!changed_.wait_for(lock, std::chrono::seconds(60), [&] { return !requests_.empty(); })) {
      return std::nullopt;
    }
    engine::Request r = std::move(requests_.front());
    requests_.pop_front();
    return r;
  }

  static engine::ModelInfo Info() {
    engine::ModelInfo m;
    m.name = "sudoku";
    m.version = "v1";
    m.task = engine::TaskKind::kSudoku;
    m.seq_len = 81;
    m.vocab_size = 11;
    m.halt_max_steps = 16;
    return m;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<engine::Request> requests_;
};

std::vector<int32_t> Tokens(const char* grid) {
  auto parsed = puzzle::ParseSudoku(grid);
  EXPECT_TRUE(parsed.ok());
  return puzzle::SudokuToTokens(*parsed);
}

engine::Result Answer(const char* grid, int steps) {
  engine::Result r;
  r.answer_tokens = Tokens(grid);
  r.steps = steps;
  r.confidence = 0.9f;
  r.halt_reason = engine::HaltReason::kQHead;
  r.model = "sudoku";
  r.model_version = "v1";
  return r;
}

engine::Result Failed(absl::Status status) {
  engine::Result r;
  r.status = std::move(status);
  return r;
}

// Spins until the token trips (the client's cancel travels through gRPC to OnCancel); bounded
// only to turn a hang into a failure.
bool WaitCancelled(const engine::CancelToken& token) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!token.cancelled()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

class SolverServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_.SetAccepting(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = trm::v1::Solver::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  static trm::v1::SolveRequest Request() {
    trm::v1::SolveRequest r;
    r.set_sudoku(kPuzzle);
    r.set_request_id("t");
    return r;
  }
  static void Deadline(grpc::ClientContext* c, int seconds = 60) {
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }
  // The value of the series starting with `prefix` in the service's metrics, -1 when absent.
  double Metric(const std::string& prefix) const {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& c : metrics_.collectables()) {
      auto part = c->Collect();
      families.insert(families.end(), part.begin(), part.end());
    }
    const std::string text = prometheus::TextSerializer().Serialize(families);
    const size_t at = text.find(prefix);
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(text.find(' ', at) + 1));
  }

  FakeEngine engine_;
  Metrics metrics_;
  SolveContext context_{&engine_, &metrics_, HaltDefaults{}};
  SolverService service_{&context_, SolverServiceOptions{}};
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<trm::v1::Solver::Stub> stub_;
};

TEST_F(SolverServiceTest, SolveAnswersFromTheEnginesResult) {
  grpc::ClientContext c;
  Deadline(&c);
  trm::v1::SolveResponse response;
  std::thread answer([&] {
    auto r = engine_.Take();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->tokens, Tokens(kPuzzle));
    EXPECT_EQ(r->request_id, "t");
    ASSERT_NE(r->cancel, nullptr);  // Made before Submit, so no cancel can be lost.
    EXPECT_FALSE(r->on_step);       // Unary: no step events wanted.
    r->on_done(Answer(kSolution, 3));
  });
  grpc::Status s = stub_->Solve(&c, Request(), &response);
  answer.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.answer().sudoku(), kSolution);
  EXPECT_EQ(response.verification(), trm::v1::VERIFICATION_VERIFIED);
  EXPECT_EQ(response.steps(), 3);
  EXPECT_EQ(response.views(), 1);
  EXPECT_EQ(Metric("trm_requests_total{code=\"OK\",method=\"Solve\",model=\"sudoku\"}"), 1);
}

// Cancelled while the engine still holds the request unadmitted: the token is tripped, the
// engine answers CANCELLED, the client sees CANCELLED, and it is counted once.
TEST_F(SolverServiceTest, ACancelBeforeAdmissionReachesTheEngine) {
  grpc::ClientContext c;
  Deadline(&c);
  trm::v1::SolveResponse response;
  grpc::Status status;
  std::thread call([&] { status = stub_->Solve(&c, Request(), &response); });
  auto r = engine_.Take();
  ASSERT_TRUE(r.has_value());
  c.TryCancel();
  ASSERT_TRUE(WaitCancelled(*r->cancel));
  r->on_done(Failed(absl::CancelledError("request t: cancelled while queued")));
  call.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(Metric("trm_requests_total{code=\"CANCELLED\",method=\"Solve\",model=\"sudoku\"}"), 1);
}

// Cancelled after admission, mid-stream: the steps already sent arrive, the token trips, and
// whatever the engine sends afterwards goes nowhere without harm.
TEST_F(SolverServiceTest, ACancelAfterAdmissionStopsTheStream) {
  grpc::ClientContext c;
  Deadline(&c);
  auto reader = stub_->SolveSteps(&c, Request());
  auto r = engine_.Take();
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->on_step);
  engine::StepEvent event;
  event.step = 1;
  event.answer_tokens = Tokens(kPuzzle);
  event.confidence = 0.1f;
  r->on_step(event);
  trm::v1::SolveStep step;
  ASSERT_TRUE(reader->Read(&step));
  EXPECT_EQ(step.step(), 1);
  EXPECT_FALSE(step.final());
  c.TryCancel();
  ASSERT_TRUE(WaitCancelled(*r->cancel));
  event.step = 2;
  r->on_step(event);  // After the cancel: dropped or failed, never a crash.
  r->on_done(Failed(absl::CancelledError("request t: cancelled by the caller")));
  while (reader->Read(&step)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// The client goes away (its channel and call torn down) while steps keep coming: the writes
// fail or are dropped, the engine request is cancelled, and the call ends once.
TEST_F(SolverServiceTest, AClientGoneMidStreamCancelsTheEngineRequest) {
  std::optional<engine::Request> r;
  {
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                             grpc::InsecureChannelCredentials(), [] {
                                               grpc::ChannelArguments args;
                                               args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
                                               return args;
                                             }());
    auto stub = trm::v1::Solver::NewStub(channel);
    grpc::ClientContext c;
    Deadline(&c);
    auto reader = stub->SolveSteps(&c, Request());
    r = engine_.Take();
    ASSERT_TRUE(r.has_value());
    engine::StepEvent event;
    event.step = 1;
    event.answer_tokens = Tokens(kPuzzle);
    r->on_step(event);
    trm::v1::SolveStep step;
    ASSERT_TRUE(reader->Read(&step));
    c.TryCancel();
  }  // Reader, call and channel gone.
  ASSERT_TRUE(WaitCancelled(*r->cancel));
  engine::StepEvent event;
  event.answer_tokens = Tokens(kPuzzle);
  for (int i = 2; i < 50; ++i) {
    event.step = i;
    r->on_step(event);
  }
  r->on_done(Answer(kSolution, 50));
  // The service is still serving others.
  grpc::ClientContext c2;
  Deadline(&c2);
  trm::v1::SolveResponse response;
  std::thread answer([&] {
    auto next = engine_.Take();
    ASSERT_TRUE(next.has_value());
    next->on_done(Answer(kSolution, 1));
  });
  EXPECT_TRUE(stub_->Solve(&c2, Request(), &response).ok());
  answer.join();
}

// The client's deadline travels into the engine request.
TEST_F(SolverServiceTest, TheDeadlineReachesTheEngine) {
  grpc::ClientContext c;
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(3600);
  c.set_deadline(deadline);
  trm::v1::SolveResponse response;
  const absl::Time sent = absl::Now();
  std::thread answer([&] {
    auto r = engine_.Take();
    ASSERT_TRUE(r.has_value());
    // The wire carries a timeout (rounded up to a unit), which the server adds to its clock when
    // the call arrives: the engine's deadline is the client's, later by at most the time the call
    // took to arrive, plus the rounding.
    const absl::Duration in_transit = absl::Now() - sent;
    EXPECT_GE(r->deadline, absl::FromChrono(deadline) - absl::Seconds(1));
    EXPECT_LE(r->deadline, absl::FromChrono(deadline) + in_transit + absl::Seconds(1));
    r->on_done(Answer(kSolution, 2));
  });
  EXPECT_TRUE(stub_->Solve(&c, Request(), &response).ok());
  answer.join();
}

// When the deadline passes with the request still in the engine, gRPC cancels the call, the
// token trips, and the client sees DEADLINE_EXCEEDED.
TEST_F(SolverServiceTest, APassedDeadlineTripsTheTokenAndEndsTheCall) {
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  std::thread engine_side([&] {
    auto r = engine_.Take();
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(WaitCancelled(*r->cancel));  // The event itself, not a guess at its time.
    r->on_done(Failed(absl::DeadlineExceededError("request t: deadline passed")));
  });
  trm::v1::SolveResponse response;
  grpc::Status status = stub_->Solve(&c, Request(), &response);
  engine_side.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

}  // namespace
}  // namespace trm::server
