// Load past the batch size: every request gets exactly one answer (OK) or one rejection
// (RESOURCE_EXHAUSTED), counted by request_id; nothing else, nothing lost, nothing duplicated;
// the server's resident memory stays flat; admitted requests' latency stays bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using grpc::StatusCode;

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

  // An admitted request waits behind at most queue/batch + 1 rounds of the same work.
  const absl::Duration bound = (kQueue / kBatch + 2) * single * 4 + absl::Seconds(2);
  EXPECT_LT(r.max_ok_latency, bound) << "single " << single;

  // Memory flat: within 32 MiB after thousands of calls.
  ASSERT_GT(rss_before, 0);
  EXPECT_LT(rss_after - rss_before, 32 * 1024) << rss_before << " KiB -> " << rss_after << " KiB";
  std::printf(
      "load: %d sent, %d OK, %d RESOURCE_EXHAUSTED, max OK latency %s (single %s), "
      "RSS %ld -> %ld KiB\n",
      r.sent, ok, rejected, absl::FormatDuration(r.max_ok_latency).c_str(),
      absl::FormatDuration(single).c_str(), rss_before, rss_after);

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

// --max_concurrent_streams caps the calls one connection has open: with 2, two held streams fill
// a connection and a third call on it waits (past its deadline here), while another connection
// is served at once.
TEST(LoadTest, ConcurrentStreamsPerConnectionAreCapped) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({"--max_concurrent_streams=2", "--batch_size=8", "--queue_size=8"});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  auto ch = Channel(server.process->address());
  auto stub = trm::v1::Solver::NewStub(ch);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<trm::v1::SolveStep>>> streams;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    SetDeadline(contexts.back().get(), absl::Seconds(60));
    streams.push_back(stub->SolveSteps(contexts.back().get(), Long(1000)));
    trm::v1::SolveStep step;
    ASSERT_TRUE(streams.back()->Read(&step));  // Open and running.
  }
  trm::v1::SolveResponse r;
  grpc::Status waited = Solve(ch, Sudoku("third"), &r, absl::Seconds(2));
  EXPECT_EQ(waited.error_code(), StatusCode::DEADLINE_EXCEEDED) << waited.error_message();
  grpc::Status other = Solve(Channel(server.process->address()), Sudoku("other"), &r);
  EXPECT_TRUE(other.ok()) << other.error_message();
  for (auto& stream : streams) {
    trm::v1::SolveStep step;
    EXPECT_TRUE(stream->Read(&step)) << "the held streams are still open";
  }
  for (size_t i = 0; i < streams.size(); ++i) {
    contexts[i]->TryCancel();
    EXPECT_EQ(streams[i]->Finish().error_code(), StatusCode::CANCELLED);
  }
  // Room again on the first connection.
  grpc::Status after = Solve(ch, Sudoku("after"), &r);
  EXPECT_TRUE(after.ok()) << after.error_message();
}

}  // namespace
}  // namespace trm::reliability
