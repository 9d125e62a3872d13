// End-to-end, one server per test: a full queue, a cancelled stream freeing its batch slot,
// graceful drain on SIGTERM, and TLS / mutual TLS. Each server has one batch slot and one queue
// place (--batch_size=1 --queue_size=1), so occupancy is easy to control.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/e2e_grpc.h"
#include "tests/e2e_util.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::e2e {
namespace {

using grpc::StatusCode;

constexpr char kSudoku[] =
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";

trm::v1::SolveRequest Steps(int steps) {
  trm::v1::SolveRequest r;
  r.set_sudoku(kSudoku);
  r.mutable_options()->set_ignore_halting(true);
  r.mutable_options()->set_max_steps(steps);
  return r;
}

double Gauge(int metrics_port, const std::string& series) {
  const std::string text = HttpGet(metrics_port, "/metrics").value_or("");
  const size_t at = text.find(series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 1));
}

// Waits until `series` reads `want` (bounded at 30 s: only a hang takes that long).
bool WaitGauge(int metrics_port, const std::string& series, double want) {
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (absl::Now() < end) {
    if (Gauge(metrics_port, series) == want) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ckpt_ = MakeCheckpoint(dir_.path(), "sudoku", {"--task=sudoku", "--halt_max_steps=4"});
    ASSERT_FALSE(ckpt_.empty()) << "trm-init-checkpoint failed";
  }
  std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--checkpoints=" + ckpt_, "--batch_size=1", "--queue_size=1"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto s = std::make_unique<ServerProcess>(dir_.path() + "/server.log", flags);
    EXPECT_TRUE(s->ok()) << s->child().Log();
    return s;
  }
  // Wall time of one solo request of `steps` steps.
  static absl::Duration Time(trm::v1::Solver::Stub& stub, int steps) {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(60));
    trm::v1::SolveResponse r;
    const absl::Time t0 = absl::Now();
    EXPECT_TRUE(stub.Solve(&c, Steps(steps), &r).ok());
    return absl::Now() - t0;
  }
  TempDir dir_;
  std::string ckpt_;
};

TEST_F(LifecycleTest, FullQueueIsResourceExhaustedAndCancelFreesTheSlot) {
  auto server = StartServer();
  ASSERT_TRUE(server->ok());
  auto stub = trm::v1::Solver::NewStub(Channel(server->address()));
  const int mport = server->metrics_port();
  const absl::Duration t64 = Time(*stub, 64);

  // A long stream takes the only slot; a second request takes the only queue place. The stream's
  // 1024 steps outlast the checks below (a few round trips) on any machine; the server's count at
  // the end shows that it did.
  grpc::ClientContext stream_ctx;
  SetDeadline(&stream_ctx, absl::Seconds(120));
  auto reader = stub->SolveSteps(&stream_ctx, Steps(1024));
  trm::v1::SolveStep step;
  ASSERT_TRUE(reader->Read(&step));
  ASSERT_TRUE(WaitGauge(mport, "trm_active_requests{model=\"sudoku\"}", 1));
  grpc::ClientContext queued_ctx;
  SetDeadline(&queued_ctx, absl::Seconds(120));
  grpc::Status queued_status;
  std::thread queued([&] {
    trm::v1::SolveResponse r;
    queued_status = stub->Solve(&queued_ctx, Steps(2), &r);
  });
  ASSERT_TRUE(WaitGauge(mport, "trm_queue_depth{model=\"sudoku\"}", 1));
  {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(30));
    trm::v1::SolveResponse r;
    grpc::Status s = stub->Solve(&c, Steps(2), &r);
    EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  }

  // Cancel the stream mid-way: the client sees CANCELLED and the queued request gets the slot.
  ASSERT_TRUE(reader->Read(&step));
  stream_ctx.TryCancel();
  while (reader->Read(&step)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), StatusCode::CANCELLED);
  queued.join();
  EXPECT_TRUE(queued_status.ok()) << queued_status.error_message();
  EXPECT_TRUE(WaitGauge(mport, "trm_active_requests{model=\"sudoku\"}", 0));
  // The server ended the stream as cancelled, not finished, and ran fewer batch steps than the
  // 64 + 1024 + 2 of the three requests it admitted: the stream held the only slot until the
  // cancel and gave it up then, so the cancel is what let the queued request in (with one slot,
  // nothing else could). No clock is involved; the stream's length only has to exceed the
  // checks' few round trips.
  EXPECT_TRUE(WaitGauge(
      mport, "trm_requests_total{code=\"CANCELLED\",method=\"SolveSteps\",model=\"sudoku\"}", 1))
      << "64 steps take " << t64;
  EXPECT_LT(Gauge(mport, "trm_requests_total{code=\"OK\",method=\"SolveSteps\",model=\"sudoku\"}"),
            1)
      << "the stream ran all its 1024 steps before the cancel; 64 steps take " << t64;
  const double batch_steps = Gauge(mport, "trm_batch_steps_total{model=\"sudoku\"}");
  EXPECT_GT(batch_steps, 64 + 2);
  EXPECT_LT(batch_steps, 64 + 1024 + 2) << "the cancelled stream kept its slot to the end";
  EXPECT_EQ(
      Gauge(mport,
            "trm_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"Solve\",model=\"sudoku\"}"),
      1);

  // Without a token the Admin service is not there at all.
  auto admin = trm::v1::Admin::NewStub(Channel(server->address()));
  grpc::ClientContext c;
  SetDeadline(&c, absl::Seconds(10));
  trm::v1::ReloadModelResponse resp;
  EXPECT_EQ(admin->ReloadModel(&c, {}, &resp).error_code(), StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(server->Stop(), 0);
}

TEST_F(LifecycleTest, SigtermDrainsInFlightThenExitsZero) {
  auto server = StartServer({"--drain_timeout_s=60"});
  ASSERT_TRUE(server->ok());
  auto channel = Channel(server->address());
  auto stub = trm::v1::Solver::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  const absl::Duration t64 = Time(*stub, 64);
  // What the checks after SIGTERM cost, measured here now: a health answer and a Solve round
  // trip. The in-flight request must outlast them, so it is sized from this measurement (50
  // times over, at least a second of work) rather than from a guess about the machine.
  absl::Duration checks;
  {
    const absl::Time start = absl::Now();
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(30));
    grpc::health::v1::HealthCheckResponse r;
    ASSERT_TRUE(health->Check(&c, {}, &r).ok());
    checks = absl::Now() - start;
    checks += Time(*stub, 1);
  }
  const absl::Duration needed = std::max(50 * checks, absl::Seconds(1));
  const int steps =
      std::clamp(static_cast<int>(std::ceil(64 * absl::FDivDuration(needed, t64))), 64, 1024);

  // A Watch stream opened before the signal sees NOT_SERVING as an event.
  grpc::ClientContext watch_ctx;
  SetDeadline(&watch_ctx, absl::Seconds(120));
  auto watch = health->Watch(&watch_ctx, {});
  grpc::health::v1::HealthCheckResponse status;
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // The in-flight request is a stream, so its first step proves it holds a batch slot.
  grpc::ClientContext inflight_ctx;
  SetDeadline(&inflight_ctx, absl::Seconds(120));
  auto reader = stub->SolveSteps(&inflight_ctx, Steps(steps));
  trm::v1::SolveStep step;
  ASSERT_TRUE(reader->Read(&step));
  server->child().Signal(SIGTERM);
  // Health turns NOT_SERVING and new requests are refused while the old one finishes.
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  watch_ctx.TryCancel();
  EXPECT_EQ(watch->Finish().error_code(), StatusCode::CANCELLED);
  {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(30));
    trm::v1::SolveResponse r;
    grpc::Status s = stub->Solve(&c, Steps(1), &r);
    EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
  }
  // The refusal came while the old request still held its slot (the server's own gauge says so;
  // if it did not, the request was too short for these checks after all).
  EXPECT_EQ(Gauge(server->metrics_port(), "trm_active_requests{model=\"sudoku\"}"), 1)
      << steps << " steps (64 take " << t64 << ", the checks " << checks << ")";
  int last_step = step.step();
  while (reader->Read(&step)) last_step = step.step();
  grpc::Status inflight_status = reader->Finish();
  EXPECT_TRUE(inflight_status.ok()) << inflight_status.error_message();
  EXPECT_EQ(last_step, steps);
  EXPECT_TRUE(step.final());
  EXPECT_EQ(step.result().steps(), steps);
  auto code = server->child().Wait(absl::Seconds(60));
  ASSERT_TRUE(code.has_value()) << "trm-server did not exit after draining";
  EXPECT_EQ(*code, 0) << server->child().Log();
  EXPECT_NE(server->child().Log().find("drained"), std::string::npos);
}

TEST_F(LifecycleTest, MutualTls) {
  const std::string d = dir_.path();
  auto sh = [](const std::string& cmd) {
    return RunCommand({"/bin/sh", "-c", cmd}, absl::Seconds(60)).exit_code;
  };
  // A CA, a server certificate for 127.0.0.1/localhost, and a client certificate.
  ASSERT_EQ(sh("cd " + d +
               " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=trm-ca "
               "-keyout ca.key -out ca.crt"),
            0);
  std::ofstream(d + "/san.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  for (const std::string who : {"server", "client"}) {
    ASSERT_EQ(sh("cd " + d + " && openssl req -newkey rsa:2048 -nodes -subj /CN=" + who +
                 " -keyout " + who + ".key -out " + who + ".csr && openssl x509 -req -in " + who +
                 ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext -out " +
                 who + ".crt"),
              0);
  }
  // The watchdog probes the TLS port without a handshake (server/guards/watchdog.h); with one
  // failure allowed, a probe that mistook this healthy server for a dead one would end it at once.
  auto server = StartServer({"--tls_cert=" + d + "/server.crt", "--tls_key=" + d + "/server.key",
                             "--tls_client_ca=" + d + "/ca.crt", "--watchdog_interval_s=0.2",
                             "--watchdog_failures=1"});
  ASSERT_TRUE(server->ok());
  auto solve = [&](std::shared_ptr<grpc::ChannelCredentials> creds) {
    auto stub = trm::v1::Solver::NewStub(grpc::CreateChannel(server->address(), creds));
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(10));
    trm::v1::SolveResponse r;
    return stub->Solve(&c, Steps(1), &r);
  };
  grpc::SslCredentialsOptions with_cert{ReadFileOrEmpty(d + "/ca.crt"),
                                        ReadFileOrEmpty(d + "/client.key"),
                                        ReadFileOrEmpty(d + "/client.crt")};
  grpc::Status s = solve(grpc::SslCredentials(with_cert));
  EXPECT_TRUE(s.ok()) << s.error_message();
  grpc::SslCredentialsOptions no_cert{ReadFileOrEmpty(d + "/ca.crt"), "", ""};
  EXPECT_EQ(solve(grpc::SslCredentials(no_cert)).error_code(), StatusCode::UNAVAILABLE);
  EXPECT_EQ(solve(grpc::InsecureChannelCredentials()).error_code(), StatusCode::UNAVAILABLE);
  RunResult r = RunCommand({Env("TRM_CLIENT_BIN"), "health", "--target=" + server->address(),
                            "--tls_ca=" + d + "/ca.crt", "--tls_cert=" + d + "/client.crt",
                            "--tls_key=" + d + "/client.key"},
                           absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(server->child().Log().find("watchdog: 1 probes"), std::string::npos)
      << server->child().Log();
  EXPECT_EQ(server->Stop(), 0);
}

}  // namespace
}  // namespace trm::e2e
