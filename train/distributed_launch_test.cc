// trm-train data-parallel, as users run it: processes started by scripts/launch.py (torchrun's
// environment) or one by one with that environment set (as a Kubeflow PyTorchJob starts its
// pods), on loopback with a free port, on the tiny preset (a step takes milliseconds).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model/checkpoint.h"
#include "tests/e2e_util.h"

namespace trm::train {
namespace {

namespace fs = std::filesystem;
using e2e::Child;
using e2e::RunCommand;
using e2e::RunResult;

// What the tests wait for at most; only a bound against hanging, never a condition to pass.
constexpr absl::Duration kBound = absl::Minutes(5);

// The run every test trains: CPU, one thread per rank, 8 rows, puzzle embeddings on (so the
// distributed sign-SGD runs), a learning rate that moves the weights visibly in a few steps.
std::vector<std::string> Flags(const std::string& out, int steps) {
  return {TRM_TRAIN_BIN,         "--preset=tiny",         "--device=cpu",
          "--threads=1",         "--global_batch_size=8", absl::StrCat("--steps=", steps),
          "--log_interval=1",    "--eval_size=0",         "--lr=1e-3",
          "--lr_warmup_steps=1", "--puzzle_emb_ndim=32",  "--puzzle_emb_len=1",
          "--out_dir=" + out};
}

std::vector<std::string> Launch(int ranks, std::vector<std::string> flags) {
  flags.insert(flags.begin(),
               {TRM_SOURCE_DIR "/scripts/launch.py", absl::StrCat("--nproc_per_node=", ranks)});
  return flags;
}

// The same command as one rank of a group, its environment set through env(1).
std::vector<std::string> AsRank(int rank, int world, int port, std::vector<std::string> flags) {
  flags.insert(flags.begin(),
               {"/usr/bin/env", absl::StrCat("RANK=", rank), absl::StrCat("WORLD_SIZE=", world),
                "MASTER_ADDR=127.0.0.1", absl::StrCat("MASTER_PORT=", port), "OMP_NUM_THREADS=1"});
  return flags;
}

std::vector<std::string> With(std::vector<std::string> v, const std::vector<std::string>& more) {
  v.insert(v.end(), more.begin(), more.end());
  return v;
}

model::StateDict LatestState(const std::string& out) {
  std::ifstream f(fs::path(out) / "LATEST");
  std::string name;
  std::getline(f, name);
  auto state = model::ReadStateDict((fs::path(out) / name / "train_state.pt").string());
  EXPECT_TRUE(state.ok()) << out << ": " << state.status();
  return state.ok() ? *state : model::StateDict{};
}

// The largest absolute difference between the live weights of two runs' last checkpoints; the
// data they trained on (the saved batch) must be the same exactly.
double MaxWeightDifference(const std::string& a, const std::string& b) {
  auto sa = LatestState(a), sb = LatestState(b);
  double worst = 0;
  int compared = 0;
  for (const auto& [k, v] : sa) {
    if (!sb.count(k)) {
      ADD_FAILURE() << "missing in " << b << ": " << k;
      continue;
    }
    if (k.rfind("batch.", 0) == 0) {
      EXPECT_TRUE(torch::equal(v, sb[k])) << k << " differs: not the same examples";
    } else if (k.rfind("net.", 0) == 0) {
      worst = std::max(worst, (v - sb[k]).abs().max().item<double>());
      ++compared;
    }
  }
  EXPECT_GT(compared, 10);
  return worst;
}

// Two runs' weights after the same steps agree to this. They are not bit-identical: one process
// sums each gradient over 8 rows at once, two ranks sum 4 rows each and then add the two partial
// sums (Gloo's ring adds in its own order), so float32 rounding differs in the last bits
// (~1e-7 relative) and Adam carries that on. A wrong split of the work (ranks on the same rows,
// a gradient not reduced) changes weights by about the learning rate, 1e-3, each step.
constexpr double kTolerance = 2e-5;

std::string WaitForLine(Child& child, const std::regex& re, absl::Duration bound) {
  const absl::Time end = absl::Now() + bound;
  std::smatch m;
  while (absl::Now() < end && child.running()) {
    std::string log = child.Log();
    if (std::regex_search(log, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::string log = child.Log();
  if (std::regex_search(log, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
  return "";
}

TEST(DistributedLaunch, TwoRanksAtHalfTheBatchMatchOneProcessAndHoldIdenticalWeights) {
  e2e::TempDir dir;
  const std::string one = dir.path() + "/one", two = dir.path() + "/two";
  RunResult r1 = RunCommand(Flags(one, 6), kBound);
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  RunResult r2 = RunCommand(With(Launch(2, Flags(two, 6)), {"--dist_verify_every=1"}), kBound);
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_NE(r2.output.find("[rank0]: data-parallel: 2 ranks (gloo), 4 rows each"),
            std::string::npos)
      << r2.output;

  // After every step each rank printed its weights' fingerprint: they are the same.
  for (int step = 1; step <= 6; ++step) {
    std::smatch m0, m1;
    const std::string pattern = absl::StrCat(": weights after step ", step, ": fingerprint (\\w+)");
    ASSERT_TRUE(std::regex_search(r2.output, m0, std::regex("\\[rank0\\]" + pattern)))
        << "step " << step << "\n"
        << r2.output;
    ASSERT_TRUE(std::regex_search(r2.output, m1, std::regex("\\[rank1\\]" + pattern)))
        << "step " << step << "\n"
        << r2.output;
    EXPECT_EQ(m0[1].str(), m1[1].str()) << "step " << step;
  }
  const double diff = MaxWeightDifference(one, two);
  std::cout << "max |w(1 process, batch 8) - w(2 ranks, batch 4 each)| after 6 steps: " << diff
            << "\n";
  EXPECT_LE(diff, kTolerance);
}

TEST(DistributedLaunch, ResumesAtAnotherWorldSizeWhereTheLastRunStopped) {
  // One process to step 2, two ranks on to step 4, one process to step 6: the same weights as
  // one uninterrupted run of 6 steps.
  e2e::TempDir dir;
  const std::string ref = dir.path() + "/ref", run = dir.path() + "/run";
  RunResult r = RunCommand(Flags(ref, 6), kBound);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(With(Flags(run, 6), {"--stop_after=2"}), kBound);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(With(Launch(2, Flags(run, 6)), {"--stop_after=2"}), kBound);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[rank0]: resumed from " + run + "/step_00000002 at step 2"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("[rank1]: rank 1 of 2: rows [4, 8) of each batch, from step 2"),
            std::string::npos)
      << r.output;
  r = RunCommand(Flags(run, 6), kBound);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from " + run + "/step_00000004 at step 4"), std::string::npos)
      << r.output;
  const double diff = MaxWeightDifference(ref, run);
  std::cout << "max |w(6 steps) - w(2 + 2 on 2 ranks + 2)|: " << diff << "\n";
  EXPECT_LE(diff, kTolerance);
}

TEST(DistributedLaunch, ARankKilledMidRunStopsTheLaunchNamingIt) {
  e2e::TempDir dir;
  const int timeout_s = 60;
  Child launch(With(Launch(2, Flags(dir.path() + "/out", 1000000)),
                    {absl::StrCat("--dist_timeout_s=", timeout_s)}),
               dir.path() + "/launch.log");
  const std::string pid = WaitForLine(launch, std::regex("rank 1 pid (\\d+)"), kBound);
  ASSERT_FALSE(pid.empty()) << launch.Log();
  // Killed once it has trained: mid-run, whatever this machine's speed.
  ASSERT_FALSE(WaitForLine(launch, std::regex("\\[rank1\\]: step 2/"), kBound).empty())
      << launch.Log();
  ASSERT_EQ(kill(std::stoi(pid), SIGKILL), 0);
  const absl::Time killed = absl::Now();
  auto code = launch.Wait(absl::Seconds(timeout_s));
  ASSERT_TRUE(code.has_value()) << "still running " << timeout_s << " s after the kill\n"
                                << launch.Log();
  std::cout << "the launch ended " << absl::ToDoubleSeconds(absl::Now() - killed)
            << " s after the kill\n";
  EXPECT_EQ(*code, 128 + SIGKILL) << launch.Log();
  EXPECT_NE(launch.Log().find("launch: rank 1 (pid " + pid + ") was killed by SIGKILL"),
            std::string::npos)
      << launch.Log();
}

// Ranks started one by one (as pods are): rank 0 itself must notice and name the rank.
TEST(DistributedLaunch, Rank0NamesARankThatDied) {
  e2e::TempDir dir;
  const int port = e2e::FreePort(), timeout_s = 60;
  const auto flags =
      With(Flags(dir.path() + "/out", 1000000), {absl::StrCat("--dist_timeout_s=", timeout_s)});
  Child rank0(AsRank(0, 2, port, flags), dir.path() + "/rank0.log");
  Child rank1(AsRank(1, 2, port, flags), dir.path() + "/rank1.log");
  ASSERT_FALSE(WaitForLine(rank1, std::regex("step 2/"), kBound).empty()) << rank1.Log();
  rank1.Signal(SIGKILL);
  const absl::Time killed = absl::Now();
  auto code = rank0.Wait(absl::Seconds(timeout_s));
  ASSERT_TRUE(code.has_value()) << "rank 0 still running " << timeout_s << " s after the kill\n"
                                << rank0.Log();
  std::cout << "rank 0 ended " << absl::ToDoubleSeconds(absl::Now() - killed)
            << " s after rank 1 was killed\n";
  EXPECT_EQ(*code, 1);
  EXPECT_NE(rank0.Log().find("trm-train: rank 0: distributed: "), std::string::npos) << rank0.Log();
  EXPECT_TRUE(std::regex_search(rank0.Log(), std::regex("rank 1 \\(last at step \\d+\\) stopped "
                                                        "answering")))
      << rank0.Log();
}

TEST(DistributedLaunch, Rank0NamesARankThatHangsAfterTheTimeout) {
  e2e::TempDir dir;
  // The timeout must outlast anything a healthy rank waits for: at most a peer's start-up (the
  // rendezvous) or a step. A whole 2-step run, start-up included, measured now on this machine
  // under its present load, bounds both; three times that is the timeout.
  const absl::Time t0 = absl::Now();
  RunResult probe = RunCommand(Flags(dir.path() + "/probe", 2), kBound);
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  const int timeout_s =
      std::max(5, static_cast<int>(3 * absl::ToDoubleSeconds(absl::Now() - t0)) + 1);
  const int port = e2e::FreePort();
  const auto flags =
      With(Flags(dir.path() + "/out", 1000000), {absl::StrCat("--dist_timeout_s=", timeout_s)});
  Child rank0(AsRank(0, 2, port, flags), dir.path() + "/rank0.log");
  Child rank1(AsRank(1, 2, port, flags), dir.path() + "/rank1.log");
  ASSERT_FALSE(WaitForLine(rank1, std::regex("step 2/"), kBound).empty()) << rank1.Log();
  rank1.Signal(SIGSTOP);
  const absl::Time stopped = absl::Now();
  // Bounded: the timeout, then a few heartbeats to tell a stopped rank from a slow one.
  auto code = rank0.Wait(absl::Seconds(3 * timeout_s + 30));
  const double took = absl::ToDoubleSeconds(absl::Now() - stopped);
  rank1.Signal(SIGKILL);
  ASSERT_TRUE(code.has_value()) << "rank 0 hangs\n" << rank0.Log();
  std::cout << "rank 0 ended " << took << " s after rank 1 was stopped (--dist_timeout_s "
            << timeout_s << ")\n";
  EXPECT_EQ(*code, 1);
  EXPECT_GE(took, timeout_s * 0.9) << rank0.Log();  // It did wait for the timeout.
  EXPECT_TRUE(std::regex_search(rank0.Log(), std::regex("rank 1 \\(last at step \\d+\\) stopped "
                                                        "answering")))
      << rank0.Log();
}

TEST(DistributedLaunch, RanksWithDifferentOptionsStopNamingTheField) {
  e2e::TempDir dir;
  const int port = e2e::FreePort();
  const auto flags = Flags(dir.path() + "/out", 3);
  Child rank0(AsRank(0, 2, port, flags), dir.path() + "/rank0.log");
  Child rank1(AsRank(1, 2, port, With(flags, {"--lr=2e-3"})), dir.path() + "/rank1.log");
  auto code1 = rank1.Wait(kBound);
  auto code0 = rank0.Wait(kBound);
  ASSERT_TRUE(code0.has_value() && code1.has_value());
  EXPECT_EQ(*code1, 1);
  EXPECT_EQ(*code0, 1);
  const std::string why =
      "rank 1's options differ from rank 0's: /lr is 0.002 here, 0.001 on rank 0";
  EXPECT_NE(rank1.Log().find(why), std::string::npos) << rank1.Log();
  EXPECT_NE(rank0.Log().find("rank 1 failed: " + why), std::string::npos) << rank0.Log();
}

}  // namespace
}  // namespace trm::train
