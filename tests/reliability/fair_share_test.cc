// One client cannot take every batch slot: a client (one connection) that fills the batch with
// requests that run for the longest the model allows leaves --max_client_share's rest free, so
// another client's normal Solve is admitted at the next step boundary and answered while the
// first client's requests still run. Before, it waited for one of them to finish (the probe's
// 64 x 1,024-step Solves kept a normal Solve waiting 55 s).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using e2e::NewConnection;

constexpr int kBatch = 8;
constexpr int kHog = 16;  // The first client's requests: twice the batch.

TEST(FairShareTest, AClientHoldingTheBatchLeavesRoomForAnother) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({absl::StrCat("--batch_size=", kBatch), "--queue_size=64"});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  const std::string address = server.process->address();

  // The first client: kHog long Solves on one connection, each as long as it can run.
  auto hog = NewConnection(address);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  for (int i = 0; i < kHog; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    SetDeadline(contexts.back().get(), absl::Seconds(240));
  }
  std::atomic<int> hog_done{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kHog; ++i) {
    callers.emplace_back([&, i] {
      trm::v1::SolveResponse r;
      auto stub = trm::v1::Solver::NewStub(hog);
      stub->Solve(contexts[i].get(), Long(1024, absl::StrCat("hog-", i)), &r);
      hog_done.fetch_add(1);
    });
  }
  // Until the first client holds its share: 6 of the 8 slots (0.75), the rest of its requests
  // queued behind it.
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string m = server.Metrics();
        return MetricSum(m, "trm_active_rows") >= kBatch * 3 / 4 &&
               MetricSum(m, "trm_queue_depth") >= 1;
      },
      absl::Seconds(120)))
      << server.Metrics();

  // Another client's Solve of normal length (the model's halt_max_steps, 8, run in full) is
  // admitted at the next step boundary: it waits in the queue for less than one of its own 8
  // steps takes, however fast the machine (both are measured in the server, on the same batch).
  // Without the share it waits until one of the first client's 1,024-step requests ends.
  trm::v1::SolveRequest newcomer = Sudoku("newcomer");
  newcomer.mutable_options()->set_ignore_halting(true);
  newcomer.mutable_options()->set_max_steps(8);
  trm::v1::SolveResponse answer;
  const grpc::Status s = Solve(NewConnection(address), newcomer, &answer, absl::Seconds(120));
  const int finished_before = hog_done.load();
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(answer.steps(), 8);
  EXPECT_LT(answer.timing().queue_ms(), answer.timing().compute_ms())
      << "the newcomer waited for a slot longer than its 8 steps took";

  for (auto& c : contexts) c->TryCancel();
  for (auto& t : callers) t.join();
  std::printf(
      "fair share: a Solve beside %d x 1,024-step Solves of one client (batch %d): queued "
      "%.1f ms, computed %.1f ms (8 steps); %d of theirs finished before it\n",
      kHog, kBatch, answer.timing().queue_ms(), answer.timing().compute_ms(), finished_before);
}

}  // namespace
}  // namespace trm::reliability
