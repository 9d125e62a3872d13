// End-to-end, one server per test: a full queue, a cancelled stream freeing its batch slot,
// graceful drain on SIGTERM, and TLS / mutual TLS. Each server has one batch slot and one queue
// place (--batch_size=1 --queue_size=1), so occupancy is easy to control.
#include <gtest/gtest.h>
#include <signal.h>

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

// Waits until `series` reads `want` (bounded at 10 s).
bool WaitGauge(int metrics_port, const std::string& series, double want) {
  const absl::Time end = absl::Now() + absl::Seconds(10);
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

  // A long stream takes the only slot; a second request takes the only queue place.
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
    SetDeadline(&c, absl::Seconds(10));
    trm::v1::SolveResponse r;
    grpc::Status s = stub->Solve(&c, Steps(2), &r);
    EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  }

  // Cancel the stream mid-way: the client sees CANCELLED and the queued request gets the slot
  // long before the 1024 steps would have finished.
  ASSERT_TRUE(reader->Read(&step));
  const absl::Time cancelled_at = absl::Now();
  stream_ctx.TryCancel();
  while (reader->Read(&step)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), StatusCode::CANCELLED);
  queued.join();
  const absl::Duration queued_wait = absl::Now() - cancelled_at;
  EXPECT_TRUE(queued_status.ok()) << queued_status.error_message();
  EXPECT_LT(queued_wait, 4 * t64 + absl::Milliseconds(500))
      << "the cancelled request kept its slot; 64 steps take " << t64;
  EXPECT_TRUE(WaitGauge(mport, "trm_active_requests{model=\"sudoku\"}", 0));
  EXPECT_TRUE(WaitGauge(
      mport, "trm_requests_total{code=\"CANCELLED\",method=\"SolveSteps\",model=\"sudoku\"}", 1));
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
  const absl::Duration t64 = Time(*stub, 64);
  // Long enough to still be running after the checks below (at least ~1 s).
  const int steps = std::clamp<int>(64 * absl::FDivDuration(absl::Seconds(1), t64), 64, 1024);

  // The in-flight request is a stream, so its first step proves it holds a batch slot.
  grpc::ClientContext inflight_ctx;
  SetDeadline(&inflight_ctx, absl::Seconds(120));
  auto reader = stub->SolveSteps(&inflight_ctx, Steps(steps));
  trm::v1::SolveStep step;
  ASSERT_TRUE(reader->Read(&step));
  server->child().Signal(SIGTERM);
  // Health turns NOT_SERVING and new requests are refused while the old one finishes.
  auto health = grpc::health::v1::Health::NewStub(channel);
  bool saw_not_serving = false;
  for (int i = 0; i < 200 && !saw_not_serving; ++i) {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(2));
    grpc::health::v1::HealthCheckResponse r;
    saw_not_serving = health->Check(&c, {}, &r).ok() &&
                      r.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING;
    if (!saw_not_serving) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(saw_not_serving);
  {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(5));
    trm::v1::SolveResponse r;
    grpc::Status s = stub->Solve(&c, Steps(1), &r);
    EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
  }
  int last_step = step.step();
  while (reader->Read(&step)) last_step = step.step();
  grpc::Status inflight_status = reader->Finish();
  EXPECT_TRUE(inflight_status.ok()) << inflight_status.error_message();
  EXPECT_EQ(last_step, steps);
  EXPECT_TRUE(step.final());
  EXPECT_EQ(step.result().steps(), steps);
  auto code = server->child().Wait(absl::Seconds(30));
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
  // The watchdog probes the TLS port without a handshake (server/watchdog.h); with one failure
  // allowed, a probe that mistook this healthy server for a dead one would end it at once.
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
