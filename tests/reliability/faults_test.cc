// Faults: callers that vanish mid-stream or mid-call, deadline storms, SIGTERM under load, model
// reloads under load, and corrupt or missing checkpoints. After each the server still serves and
// its slots and queue are empty again (trm_active_requests and trm_queue_depth back to 0).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using grpc::StatusCode;

void ExpectIdleAndServing(const Server& server) {
  EXPECT_TRUE(WaitMetric(server.process->metrics_port(), "trm_active_requests", 0))
      << server.Metrics();
  EXPECT_TRUE(WaitMetric(server.process->metrics_port(), "trm_queue_depth", 0)) << server.Metrics();
  trm::v1::SolveResponse r;
  grpc::Status s = Solve(Channel(server.process->address()), Sudoku("after"), &r);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.request_id(), "after");
}

TEST(FaultsTest, VanishingCallersFreeTheirSlots) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({"--batch_size=4", "--queue_size=16"});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  const pid_t pid = server.process->child().pid();
  const long rss_before = RssKib(pid);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;  // 320 vanishing callers in all.
  std::atomic<int> streams_cut{0}, unary_cut{0}, other{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      // A connection of its own per caller half of the time (a channel with a local subchannel
      // pool: a default channel would reuse the shared connection), so the connection itself
      // goes away too; the other half share the default channels' one connection.
      auto shared = Channel(server.process->address());
      std::mt19937 rng(t);
      for (int i = 0; i < kPerThread; ++i) {
        auto ch = (i % 2) ? e2e::NewConnection(server.process->address()) : shared;
        auto stub = trm::v1::Solver::NewStub(ch);
        grpc::ClientContext c;
        SetDeadline(&c, absl::Seconds(30));
        if (i % 4 < 2) {
          // Mid-stream: read the first step or two, then cancel and drop everything. 1024 steps
          // (the most a request may ask for) cannot finish first on any machine.
          auto reader = stub->SolveSteps(&c, Long(1024));
          trm::v1::SolveStep step;
          const int reads = 1 + static_cast<int>(rng() % 2);
          for (int k = 0; k < reads && reader->Read(&step); ++k) {
          }
          c.TryCancel();
          grpc::Status s = reader->Finish();
          (s.error_code() == StatusCode::CANCELLED ? streams_cut : other)++;
        } else {
          // Mid-unary: cancel from another thread after a few milliseconds.
          std::thread cutter([&c, delay = 1 + rng() % 20] {
            absl::SleepFor(absl::Milliseconds(delay));
            c.TryCancel();
          });
          trm::v1::SolveResponse r;
          grpc::Status s = stub->Solve(&c, Long(1024), &r);
          cutter.join();
          // RESOURCE_EXHAUSTED is allowed: the queue may be full at that instant.
          (s.error_code() == StatusCode::CANCELLED ? unary_cut : other)++;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_GT(streams_cut.load(), 0);
  EXPECT_GT(unary_cut.load(), 0);
  ExpectIdleAndServing(server);
  const long rss_after = RssKib(pid);
  EXPECT_LT(rss_after - rss_before, 32 * 1024) << rss_before << " -> " << rss_after << " KiB";
  std::printf("vanishing: %d streams and %d unary calls cut (%d other), RSS %ld -> %ld KiB\n",
              streams_cut.load(), unary_cut.load(), other.load(), rss_before, rss_after);
}

// Deadlines of 1 ms up to half of what 64 steps take alone here (measured first, at most 80 ms)
// on 1024-step requests: each deadline passes before its request could be answered on any
// machine, while the request is on its way, queued or in a slot.
TEST(FaultsTest, DeadlineStorm) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({"--batch_size=4", "--queue_size=32"});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  constexpr int kThreads = 16;
  constexpr int kPerThread = 40;
  trm::v1::SolveResponse alone;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Solve(Channel(server.process->address()), Long(64), &alone).ok());
  const int max_deadline_ms =
      std::clamp<int>(absl::ToInt64Milliseconds((absl::Now() - start) / 2), 1, 80);
  std::mutex mu;
  std::map<StatusCode, int> codes;
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      auto ch = Channel(server.process->address());
      std::mt19937 rng(100 + t);
      for (int i = 0; i < kPerThread; ++i) {
        trm::v1::SolveResponse r;
        grpc::Status s = Solve(ch, Long(1024), &r, absl::Milliseconds(1 + rng() % max_deadline_ms));
        std::lock_guard<std::mutex> lock(mu);
        ++codes[s.error_code()];
      }
    });
  }
  for (auto& w : workers) w.join();
  for (const auto& [code, n] : codes) {
    EXPECT_TRUE(code == StatusCode::DEADLINE_EXCEEDED || code == StatusCode::OK ||
                code == StatusCode::RESOURCE_EXHAUSTED)
        << "code " << code << " x" << n;
  }
  EXPECT_GT(codes[StatusCode::DEADLINE_EXCEEDED], kThreads * kPerThread / 2)
      << "deadlines up to " << max_deadline_ms << " ms";
  ExpectIdleAndServing(server);
}

TEST(FaultsTest, SigtermUnderLoadCompletesInFlightAndExitsZero) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({"--batch_size=4", "--queue_size=8", "--drain_timeout_s=30"});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  std::atomic<bool> signalled{false};
  std::mutex mu;
  std::map<StatusCode, int> before, after;  // By when the call was sent.
  std::string unexpected;
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&] {
      // A connection each: the callers are 8 clients, so their long requests fill the batch
      // (one client's take at most --max_client_share of it).
      auto ch = e2e::NewConnection(server.process->address());
      for (;;) {
        const bool sent_after = signalled.load();
        trm::v1::SolveResponse r;
        grpc::Status s = Solve(ch, Long(16), &r, absl::Seconds(60));
        std::lock_guard<std::mutex> lock(mu);
        ++(sent_after ? after : before)[s.error_code()];
        if (!s.ok() && s.error_code() != StatusCode::UNAVAILABLE && unexpected.empty()) {
          unexpected = absl::StrCat(s.error_code(), ": ", s.error_message());
        }
        if (!s.ok()) return;  // Refused or gone: this caller is done.
      }
    });
  }
  ASSERT_TRUE(WaitMetric(server.process->metrics_port(), "trm_active_requests", 4));
  signalled = true;
  server.process->child().Signal(SIGTERM);
  auto code = server.process->child().Wait(absl::Seconds(60));
  for (auto& w : workers) w.join();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << server.process->child().Log();
  // Every call in flight at the signal finished OK (4 in slots, up to 4 queued); later calls
  // were refused with UNAVAILABLE; nothing else.
  EXPECT_TRUE(unexpected.empty()) << unexpected;
  EXPECT_GE(before[StatusCode::OK] + after[StatusCode::OK], 4);
  EXPECT_EQ(before[StatusCode::UNAVAILABLE] + after[StatusCode::UNAVAILABLE], 8)
      << "each caller ends with exactly one UNAVAILABLE";
}

TEST(FaultsTest, ReloadUnderLoadFailsNoRequest) {
  const Checkpoints& ck = SharedCheckpoints();
  ASSERT_TRUE(ck.ok);
  // sudoku_v2 lies outside the default roots (the --checkpoints folder): name both folders.
  Server server({"--batch_size=4", "--queue_size=16", std::string("--admin_token=") + kAdminToken,
                 "--checkpoint_roots=" + ck.dir + "," + ck.root + "/other"});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable answered;
  std::map<StatusCode, int> codes;
  std::map<std::string, int> by_version;  // OK answers per model version.
  std::string first_error;
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {  // 8 callers <= 4 slots + 16 queue places: nothing is rejected.
    workers.emplace_back([&] {
      auto ch = Channel(server.process->address());
      while (!stop) {
        trm::v1::SolveResponse r;
        grpc::Status s = Solve(ch, Long(4), &r);
        std::lock_guard<std::mutex> lock(mu);
        ++codes[s.error_code()];
        if (s.ok()) ++by_version[r.model_version()];
        if (!s.ok() && first_error.empty()) first_error = s.error_message();
        answered.notify_all();
      }
    });
  }
  // Paced by answers, not by the clock: each version answers `kAnswers` calls under the load
  // before the next reload (bounded at 60 s only against a hang).
  constexpr int kAnswers = 8;
  auto wait_for_answers = [&](const std::string& version, int from) {
    std::unique_lock<std::mutex> lock(mu);
    return answered.wait_for(lock, std::chrono::seconds(60),
                             [&] { return by_version[version] >= from + kAnswers; });
  };
  auto admin = trm::v1::Admin::NewStub(Channel(server.process->address()));
  // (No ASSERT until the callers are joined: they use this scope's variables.)
  trm::v1::SolveResponse first;
  EXPECT_TRUE(Solve(Channel(server.process->address()), Sudoku(), &first).ok());
  EXPECT_TRUE(wait_for_answers(first.model_version(), 0)) << "callers not answered";
  int reloads_ok = 0;
  for (int i = 0; i < 6; ++i) {
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(60));
    c.AddMetadata("authorization", std::string("Bearer ") + kAdminToken);
    trm::v1::ReloadModelRequest req;
    req.set_name("sudoku");
    req.set_checkpoint_path(i % 2 == 0 ? ck.sudoku_v2 : ck.sudoku);
    trm::v1::ReloadModelResponse resp;
    std::map<std::string, int> before;  // An earlier stretch may have used the same version.
    {
      std::lock_guard<std::mutex> lock(mu);
      before = by_version;
    }
    grpc::Status s = admin->ReloadModel(&c, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    reloads_ok += s.ok();
    if (!s.ok()) continue;
    EXPECT_TRUE(wait_for_answers(resp.model().version(), before[resp.model().version()]))
        << "version " << resp.model().version() << " never answered after reload " << i;
  }
  stop = true;
  for (auto& w : workers) w.join();
  std::set<std::string> versions;
  for (const auto& [v, n] : by_version) versions.insert(v);
  EXPECT_EQ(reloads_ok, 6);
  EXPECT_EQ(codes.size(), 1u) << first_error;
  EXPECT_GT(codes[StatusCode::OK], 0);
  EXPECT_GE(versions.size(), 2u) << "both checkpoints answered";
  std::printf("reload under load: %d reloads, %d requests all OK, %zu versions seen\n", reloads_ok,
              codes[StatusCode::OK], versions.size());
  ExpectIdleAndServing(server);
}

// A copy of `from` with model.pt replaced by `contents` (empty: model.pt removed).
std::string BrokenCopy(const std::string& root, const std::string& from, const std::string& name,
                       const std::string* contents) {
  const std::string to = root + "/" + name;
  std::filesystem::create_directories(to);
  std::filesystem::copy(
      from, to,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  if (contents == nullptr) {
    std::filesystem::remove(to + "/model.pt");
  } else {
    std::ofstream(to + "/model.pt", std::ios::trunc) << *contents;
  }
  return to;
}

TEST(FaultsTest, BadCheckpointAtReloadKeepsTheOldModel) {
  const Checkpoints& ck = SharedCheckpoints();
  ASSERT_TRUE(ck.ok);
  // The broken copies lie under the checkpoint root, so the reload gets as far as reading them.
  Server server({std::string("--admin_token=") + kAdminToken, "--checkpoint_roots=" + ck.root});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  auto ch = Channel(server.process->address());
  trm::v1::SolveResponse before;
  ASSERT_TRUE(Solve(ch, Sudoku(), &before).ok());

  const std::string bad = ck.root + "/bad_reload";
  const std::string garbage = "this is not a torch archive";
  std::string truncated = e2e::ReadFileOrEmpty(ck.sudoku + "/model.pt");
  truncated.resize(truncated.size() / 2);
  struct Case {
    std::string what, path;
  };
  const std::vector<Case> cases = {
      {"missing directory", bad + "/does-not-exist"},
      {"no model.pt", BrokenCopy(bad, ck.sudoku, "no_weights", nullptr)},
      {"garbage model.pt", BrokenCopy(bad, ck.sudoku, "garbage", &garbage)},
      {"truncated model.pt", BrokenCopy(bad, ck.sudoku, "truncated", &truncated)},
      {"wrong task (maze for sudoku)", ck.maze},
  };
  auto admin = trm::v1::Admin::NewStub(ch);
  for (const auto& c : cases) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, absl::Seconds(60));
    ctx.AddMetadata("authorization", std::string("Bearer ") + kAdminToken);
    trm::v1::ReloadModelRequest req;
    req.set_name("sudoku");
    req.set_checkpoint_path(c.path);
    trm::v1::ReloadModelResponse resp;
    grpc::Status s = admin->ReloadModel(&ctx, req, &resp);
    EXPECT_FALSE(s.ok()) << c.what;
    EXPECT_NE(s.error_code(), StatusCode::INTERNAL) << c.what << ": " << s.error_message();
    EXPECT_NE(s.error_code(), StatusCode::UNKNOWN) << c.what << ": " << s.error_message();
    EXPECT_NE(s.error_code(), StatusCode::PERMISSION_DENIED) << c.what << ": " << s.error_message();
    // The message points at the checkpoint (or says what is wrong with it).
    const bool names_it = s.error_message().find(c.path) != std::string::npos ||
                          s.error_message().find("maze") != std::string::npos;
    EXPECT_TRUE(names_it) << c.what << ": " << s.error_message();
    std::printf("reload %s: %d %s\n", c.what.c_str(), s.error_code(), s.error_message().c_str());
    // The old model keeps serving, same version.
    trm::v1::SolveResponse r;
    grpc::Status after = Solve(ch, Sudoku(), &r);
    EXPECT_TRUE(after.ok()) << c.what << ": " << after.error_message();
    EXPECT_EQ(r.model_version(), before.model_version()) << c.what;
  }
  ExpectIdleAndServing(server);
}

// Admin reloads read only below the checkpoint roots; by default that is the --checkpoints
// folder of models (ck.dir), so ck.root/other/sudoku_v2 is outside however it is named.
TEST(FaultsTest, ReloadOutsideTheCheckpointRootsIsRefused) {
  const Checkpoints& ck = SharedCheckpoints();
  ASSERT_TRUE(ck.ok);
  // Not a model folder itself, so the servers of other tests do not load the link.
  const std::string links = ck.dir + "/links";
  std::filesystem::create_directories(links);
  std::filesystem::remove(links + "/v2");
  std::filesystem::create_directory_symlink(ck.sudoku_v2, links + "/v2");
  Server server({std::string("--admin_token=") + kAdminToken});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  auto ch = Channel(server.process->address());
  trm::v1::SolveResponse before;
  ASSERT_TRUE(Solve(ch, Sudoku(), &before).ok());
  auto admin = trm::v1::Admin::NewStub(ch);
  auto reload = [&](const std::string& path, trm::v1::ReloadModelResponse* resp) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, absl::Seconds(60));
    ctx.AddMetadata("authorization", std::string("Bearer ") + kAdminToken);
    trm::v1::ReloadModelRequest req;
    req.set_name("sudoku");
    req.set_checkpoint_path(path);
    return admin->ReloadModel(&ctx, req, resp);
  };
  for (const std::string& path : {
           ck.sudoku_v2,                              // absolute path outside
           ck.dir + "/../other/sudoku_v2",            // `..` escape
           ck.dir + "/sudoku/../../other/sudoku_v2",  // `..` through a model folder
           links + "/v2",                             // symlink escape
           std::string("/etc"),
       }) {
    trm::v1::ReloadModelResponse resp;
    grpc::Status s = reload(path, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << path << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(path), std::string::npos) << s.error_message();
    EXPECT_NE(s.error_message().find("[" + ck.dir + "]"), std::string::npos) << s.error_message();
    trm::v1::SolveResponse r;
    ASSERT_TRUE(Solve(ch, Sudoku(), &r).ok());
    EXPECT_EQ(r.model_version(), before.model_version()) << path << " was loaded";
  }
  // Inside the root (even spelled with `..`): accepted. The version is a content hash, so the
  // same weights keep the same version.
  trm::v1::ReloadModelResponse resp;
  grpc::Status s = reload(ck.dir + "/maze/../sudoku", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.model().name(), "sudoku");
  EXPECT_EQ(resp.model().version(), before.model_version());
  const std::string log = server.process->child().Log();
  EXPECT_NE(log.find("Admin reloads confined to [" + ck.dir + "]"), std::string::npos) << log;
  std::filesystem::remove(links + "/v2");
  ExpectIdleAndServing(server);
}

TEST(FaultsTest, BadCheckpointAtStartupIsAClearErrorExit) {
  const Checkpoints& ck = SharedCheckpoints();
  ASSERT_TRUE(ck.ok);
  e2e::TempDir bad;
  const std::string garbage = "this is not a torch archive";
  const std::string broken = BrokenCopy(bad.path(), ck.sudoku, "sudoku", &garbage);
  e2e::RunResult r = e2e::RunCommand(
      {e2e::Env("TRM_SERVER_BIN"), "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
       "--http_listen=127.0.0.1:0", "--device=cpu", "--threads=1", "--checkpoints=" + broken},
      absl::Seconds(60));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, -1) << "hung: " << r.output;
  EXPECT_LT(r.exit_code, 128) << "crashed: " << r.output;
  EXPECT_NE(r.output.find(broken), std::string::npos) << r.output;

  r = e2e::RunCommand({e2e::Env("TRM_SERVER_BIN"), "--listen=127.0.0.1:0",
                       "--metrics_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0", "--device=cpu",
                       "--threads=1", "--checkpoints=" + bad.path() + "/missing"},
                      absl::Seconds(60));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_LT(r.exit_code, 128) << "crashed: " << r.output;
  EXPECT_NE(r.output.find(bad.path() + "/missing"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace trm::reliability
