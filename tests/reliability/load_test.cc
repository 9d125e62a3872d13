// Load past the batch size: every request gets exactly one answer (OK) or one rejection
// (RESOURCE_EXHAUSTED), counted by request_id; nothing else, nothing lost, nothing duplicated;
// the server's resident memory stays flat; admitted requests' latency stays bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using grpc::StatusCode;
using grpc::health::v1::HealthCheckResponse;

constexpr int kBatch = 2;
constexpr int kQueue = 4;

// Rounds of `threads` closed-loop callers for `duration`; each request has a unique id.
struct LoadResult {
  int sent = 0;
  std::map<StatusCode, int> codes;
  std::map<std::string, int> answers_by_id;  // Responses per request_id (OK only).
  std::set<std::string> sent_ids;
  int wrong_id = 0;  // OK responses whose request_id is not the one sent.
  absl::Duration max_ok_latency;
  absl::Duration took;  // From the start until the last caller stopped.
  std::string first_unexpected;
};

LoadResult RunLoad(const std::string& address, int threads, absl::Duration duration,
                   const std::string& tag) {
  LoadResult out;
  std::mutex mu;
  const absl::Time end = absl::Now() + duration;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto ch = Channel(address);
      for (int i = 0; absl::Now() < end; ++i) {
        const std::string id = absl::StrCat(tag, "-", t, "-", i);
        trm::v1::SolveResponse resp;
        const absl::Time start = absl::Now();
        grpc::Status s = Solve(ch, Long(4, id), &resp, absl::Seconds(60));
        const absl::Duration latency = absl::Now() - start;
        std::lock_guard<std::mutex> lock(mu);
        ++out.sent;
        out.sent_ids.insert(id);
        ++out.codes[s.error_code()];
        if (s.ok()) {
          ++out.answers_by_id[resp.request_id()];
          if (resp.request_id() != id) ++out.wrong_id;
          out.max_ok_latency = std::max(out.max_ok_latency, latency);
        } else if (s.error_code() != StatusCode::RESOURCE_EXHAUSTED &&
                   out.first_unexpected.empty()) {
          out.first_unexpected = absl::StrCat(s.error_code(), ": ", s.error_message());
        }
        if (s.error_code() == StatusCode::RESOURCE_EXHAUSTED) {
          // A rejected caller backs off briefly, as a real client would.
          absl::SleepFor(absl::Milliseconds(2));
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  out.took = absl::Now() - (end - duration);
  return out;
}

TEST(LoadTest, PastTheBatchSizeEveryRequestAnsweredOnceOrRejected) {
  ASSERT_TRUE(SharedCheckpoints().ok) << "trm-init-checkpoint failed";
  Server server({absl::StrCat("--batch_size=", kBatch), absl::StrCat("--queue_size=", kQueue)});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  const pid_t pid = server.process->child().pid();

  // One request alone: the unloaded latency that bounds the loaded one.
  trm::v1::SolveResponse alone;
  const absl::Time t0 = absl::Now();
  ASSERT_TRUE(Solve(Channel(server.process->address()), Long(4, "alone"), &alone).ok());
  const absl::Duration single = absl::Now() - t0;

  // Warm-up (allocator pools, gRPC threads), then measure RSS across the real load.
  LoadResult warm = RunLoad(server.process->address(), 16, absl::Seconds(2), "warm");
  const long rss_before = RssKib(pid);
  LoadResult r = RunLoad(server.process->address(), 32, absl::Seconds(8), "load");
  ASSERT_TRUE(WaitMetric(server.process->metrics_port(), "trm_active_requests", 0));
  ASSERT_TRUE(WaitMetric(server.process->metrics_port(), "trm_queue_depth", 0));
  const long rss_after = RssKib(pid);

  // Exactly OK or RESOURCE_EXHAUSTED, one answer per id, each with its own id.
  EXPECT_TRUE(r.first_unexpected.empty()) << r.first_unexpected;
  const int ok = r.codes[StatusCode::OK];
  const int rejected = r.codes[StatusCode::RESOURCE_EXHAUSTED];
  EXPECT_EQ(ok + rejected, r.sent);
  EXPECT_EQ(static_cast<int>(r.sent_ids.size()), r.sent);
  EXPECT_EQ(static_cast<int>(r.answers_by_id.size()), ok);
  for (const auto& [id, n] : r.answers_by_id) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(r.wrong_id, 0);
  EXPECT_GT(ok, 0);
  EXPECT_GT(rejected, 0) << "32 callers on " << kBatch << " slots + " << kQueue
                         << " queue places must overflow";

  // The server counted the same calls (warm-up and the single call included), all OK or
  // RESOURCE_EXHAUSTED.
  const std::string metrics = server.Metrics();
  const double solve_all = MetricSumWith(metrics, "trm_requests_total{", "method=\"Solve\"");
  EXPECT_EQ(solve_all, r.sent + warm.sent + 1);
  EXPECT_EQ(
      MetricSum(metrics, "trm_requests_total{code=\"OK\",method=\"Solve\"") +
          MetricSum(metrics, "trm_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"Solve\""),
      solve_all)
      << metrics;

  // An admitted request waits behind at most queue/batch + 1 rounds of the same work. A round's
  // length is measured twice in this test: alone before the load, and as the server's mean under
  // this very load (the run's length over the rounds it answered), so the bound follows the
  // machine's speed and whatever else runs on it (a CPU hog, a sanitizer); x4 and 2 s absorb the
  // spread around the mean. A request starved in the queue waits out its 60 s deadline.
  const absl::Duration loaded_round = r.took * kBatch / std::max(ok, 1);
  const absl::Duration round = std::max(single, loaded_round);
  const absl::Duration bound = (kQueue / kBatch + 2) * round * 4 + absl::Seconds(2);
  EXPECT_LT(r.max_ok_latency, bound) << "single " << single << ", loaded round " << loaded_round;

  // Memory flat: within 32 MiB after thousands of calls.
  ASSERT_GT(rss_before, 0);
  EXPECT_LT(rss_after - rss_before, 32 * 1024) << rss_before << " KiB -> " << rss_after << " KiB";
  std::printf(
      "load: %d sent, %d OK, %d RESOURCE_EXHAUSTED, max OK latency %s (single %s, loaded round "
      "%s, bound %s), RSS %ld -> %ld KiB\n",
      r.sent, ok, rejected, absl::FormatDuration(r.max_ok_latency).c_str(),
      absl::FormatDuration(single).c_str(), absl::FormatDuration(loaded_round).c_str(),
      absl::FormatDuration(bound).c_str(), rss_before, rss_after);

  // Still serving normally afterwards.
  trm::v1::SolveResponse after;
  EXPECT_TRUE(Solve(Channel(server.process->address()), Sudoku("after"), &after).ok());
}

TEST(LoadTest, TrmClientBenchPastTheBatchSize) {
  ASSERT_TRUE(SharedCheckpoints().ok) << "trm-init-checkpoint failed";
  Server server({absl::StrCat("--batch_size=", kBatch), absl::StrCat("--queue_size=", kQueue)});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  constexpr int kRequests = 400;
  e2e::RunResult run =
      e2e::RunCommand({e2e::Env("TRM_CLIENT_BIN"), "bench", "--target=" + server.process->address(),
                       "--task=sudoku", "--concurrency=24", absl::StrCat("--requests=", kRequests),
                       "--json", "--timeout_s=60"},
                      absl::Seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const size_t brace = run.output.find('{');
  ASSERT_NE(brace, std::string::npos) << run.output;
  auto json = nlohmann::json::parse(run.output.substr(brace), nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << run.output;
  int errors = 0;
  for (const auto& [code, n] : json["errors"].items()) {
    EXPECT_EQ(code, "RESOURCE_EXHAUSTED") << run.output;
    errors += n.get<int>();
  }
  EXPECT_EQ(json["ok"].get<int>() + errors, kRequests) << run.output;
  EXPECT_GT(json["ok"].get<int>(), 0);
  std::printf("trm-client bench: %d requests, %d OK, %d RESOURCE_EXHAUSTED\n", kRequests,
              json["ok"].get<int>(), errors);
  ASSERT_TRUE(WaitMetric(server.process->metrics_port(), "trm_active_requests", 0));
  ASSERT_TRUE(WaitMetric(server.process->metrics_port(), "trm_queue_depth", 0));
}

// Cancels a call and waits for it however the test leaves its scope (an ASSERT returns early).
struct CancelAndWait {
  grpc::ClientContext& context;
  std::future<grpc::Status>& call;
  ~CancelAndWait() {
    context.TryCancel();
    if (call.valid()) call.wait();
  }
};

// --max_concurrent_streams caps the calls one connection has open. With 2, two
// grpc.health.v1.Health/Watch streams (which never end on their own, so they hold the connection
// for as long as the test needs, whatever a step costs) fill a connection: a third call on it
// stays pending, unseen by the server, while the same call on a connection of its own is
// answered; cancelling one held stream lets the third through. The "other" connection is a
// channel with a subchannel pool of its own: a second default channel to the same address would
// share the first one's connection (gRPC's global subchannel pool) and wait as well. Which
// connections exist is read from the kernel's table, so the server's watchdog is off: its probe
// is a connection to the same port every few seconds (it made a count of 2 where 1 was right on
// a slow CI run).
TEST(LoadTest, ConcurrentStreamsPerConnectionAreCapped) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({"--max_concurrent_streams=2", "--batch_size=8", "--queue_size=8",
                 "--watchdog_interval_s=0"});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  const std::string address = server.process->address();
  const int port = server.process->port();
  auto solved = [&] {  // Solve calls the server has answered, by its own count.
    return MetricSumWith(server.Metrics(), "trm_requests_total{", "method=\"Solve\"");
  };

  auto capped = e2e::NewConnection(address);
  auto health = grpc::health::v1::Health::NewStub(capped);
  std::vector<std::unique_ptr<grpc::ClientContext>> holders;
  std::vector<std::unique_ptr<grpc::ClientReader<HealthCheckResponse>>> watches;
  for (int i = 0; i < 2; ++i) {
    holders.push_back(std::make_unique<grpc::ClientContext>());
    SetDeadline(holders.back().get(), absl::Seconds(100));
    watches.push_back(health->Watch(holders.back().get(), {}));
    HealthCheckResponse first;
    ASSERT_TRUE(watches.back()->Read(&first)) << "Watch " << i << " is open";
    EXPECT_EQ(first.status(), HealthCheckResponse::SERVING);
  }
  EXPECT_EQ(e2e::ConnectionsTo(port), 1) << "both held streams share one connection";

  // The third call on the full connection, with a deadline far beyond the test's length: it may
  // end only when a stream slot frees up.
  grpc::ClientContext third_context;
  SetDeadline(&third_context, absl::Seconds(100));
  trm::v1::SolveResponse third_response;
  std::future<grpc::Status> third = std::async(std::launch::async, [&] {
    return trm::v1::Solver::NewStub(capped)->Solve(&third_context, Sudoku("third"),
                                                   &third_response);
  });
  CancelAndWait third_guard{third_context, third};

  // The same request on a connection of its own, sent after the third, is answered.
  auto other = e2e::NewConnection(address);
  trm::v1::SolveResponse r;
  const absl::Time sent = absl::Now();
  grpc::Status other_status = Solve(other, Sudoku("other"), &r, absl::Seconds(60));
  const absl::Duration other_took = absl::Now() - sent;
  ASSERT_TRUE(other_status.ok()) << other_status.error_message();
  EXPECT_EQ(r.request_id(), "other");
  EXPECT_EQ(e2e::ConnectionsTo(port), 2) << "the other caller has a connection of its own";
  // The third is still pending well after the other connection got its answer (5 times what the
  // other took, from 0.2 to 10 s: without the cap the third, sent first, would be answered about
  // as soon; with it, it waits regardless, for as long as the held streams are open), and the
  // server never saw it: it answered the other call alone.
  const absl::Duration look =
      std::clamp(5 * other_took, absl::Milliseconds(200), absl::Seconds(10));
  if (third.wait_for(absl::ToChronoMilliseconds(look)) != std::future_status::timeout) {
    const grpc::Status early = third.get();
    FAIL() << "the third call ended while both streams were held: " << early.error_code() << " "
           << early.error_message();
  }
  EXPECT_EQ(solved(), 1) << server.Metrics();

  // One held stream ends: the third call goes through on the same connection.
  holders[0]->TryCancel();
  EXPECT_EQ(watches[0]->Finish().error_code(), StatusCode::CANCELLED);
  ASSERT_EQ(third.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the third call still waits after a stream slot freed up";
  grpc::Status third_status = third.get();
  EXPECT_TRUE(third_status.ok()) << third_status.error_message();
  EXPECT_EQ(third_response.request_id(), "third");
  EXPECT_EQ(solved(), 2);
  EXPECT_EQ(e2e::ConnectionsTo(port), 2) << "the third call used the capped connection";

  holders[1]->TryCancel();
  EXPECT_EQ(watches[1]->Finish().error_code(), StatusCode::CANCELLED);
  grpc::Status after = Solve(capped, Sudoku("after"), &r);
  EXPECT_TRUE(after.ok()) << after.error_message();
  std::printf("capped: the other connection answered in %s; the third call pending %s later\n",
              absl::FormatDuration(other_took).c_str(), absl::FormatDuration(look).c_str());
}

}  // namespace
}  // namespace trm::reliability
