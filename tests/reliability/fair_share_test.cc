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

  // Another client's normal Solve is answered while every one of the first client's runs.
  const absl::Time start = absl::Now();
  trm::v1::SolveResponse answer;
  const grpc::Status s =
      Solve(NewConnection(address), Sudoku("newcomer"), &answer, absl::Seconds(120));
  const absl::Duration took = absl::Now() - start;
  const int finished_before = hog_done.load();
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(finished_before, 0) << "the newcomer waited for the first client's requests to end";
  EXPECT_GT(answer.steps(), 0);

  for (auto& c : contexts) c->TryCancel();
  for (auto& t : callers) t.join();
  std::printf(
      "fair share: a normal Solve beside %d x 1,024-step Solves of one client (batch %d): "
      "answered in %s, %d of theirs finished before\n",
      kHog, kBatch, absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(1))).c_str(),
      finished_before);
}

}  // namespace
}  // namespace trm::reliability
