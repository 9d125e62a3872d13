// Communicator and the data-parallel pieces on real c10d (TCPStore + ProcessGroupGloo over
// loopback), several ranks as threads of this process. The multi-process runs of trm-train are
// in distributed_launch_test.cc.
#include "train/communicator.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <thread>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "train/data_parallel.h"
#include "train/optim.h"

namespace trm::train {
namespace {

using Clock = std::chrono::steady_clock;

CommOptions TestOptions(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  CommOptions o;
  o.timeout = timeout;
  o.heartbeat = std::chrono::milliseconds(100);
  o.gloo_hostname = "127.0.0.1";
  return o;
}

// A TCPStore served by rank 0 on a free port, as Connect builds it; one client per other rank.
std::vector<c10::intrusive_ptr<c10d::Store>> Stores(int world) {
  c10d::TCPStoreOptions so;
  so.port = 0;
  so.isServer = true;
  so.waitWorkers = false;
  so.timeout = std::chrono::seconds(60);
  auto server = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so);
  std::vector<c10::intrusive_ptr<c10d::Store>> out = {server};
  so.isServer = false;
  so.port = server->getPort();
  for (int r = 1; r < world; ++r)
    out.push_back(c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so));
  return out;
}

// Runs body(rank's communicator) for each rank in its own thread; Finish at the end unless the
// body returns false (it handled the end itself).
void RunRanks(int world, const CommOptions& options,
              const std::function<bool(Communicator&)>& body) {
  auto stores = Stores(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      auto c = Communicator::Create(stores[r], r, world, options, "test store");
      ASSERT_TRUE(c.ok()) << c.status();
      if (body(**c)) {
        EXPECT_TRUE((*c)->Finish().ok());
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST(DistEnv, AbsentMeansOneProcessAndPartialIsAnErrorNamingTheVariable) {
  std::map<std::string, std::string> vars;
  auto getenv = [&](const char* n) -> const char* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
  auto none = DistEnvFromEnvironment(getenv);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  vars = {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}};
  auto partial = DistEnvFromEnvironment(getenv);
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.status().message().find("MASTER_ADDR"), std::string::npos) << partial.status();

  vars = {{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}};
  auto beyond = DistEnvFromEnvironment(getenv);
  ASSERT_FALSE(beyond.ok());
  EXPECT_NE(beyond.status().message().find("RANK=2"), std::string::npos) << beyond.status();

  vars = {{"RANK", "1"}, {"WORLD_SIZE", "x"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}};
  auto bad = DistEnvFromEnvironment(getenv);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("WORLD_SIZE='x'"), std::string::npos) << bad.status();

  vars = {{"RANK", "1"},
          {"WORLD_SIZE", "4"},
          {"MASTER_ADDR", "host0"},
          {"MASTER_PORT", "29500"},
          {"LOCAL_RANK", "1"},
          {"LOCAL_WORLD_SIZE", "2"}};
  auto env = DistEnvFromEnvironment(getenv);
  ASSERT_TRUE(env.ok()) << env.status();
  ASSERT_TRUE(env->has_value());
  EXPECT_EQ((*env)->rank, 1);
  EXPECT_EQ((*env)->world_size, 4);
  EXPECT_EQ((*env)->local_rank, 1);
  EXPECT_EQ((*env)->local_world_size, 2);
  EXPECT_EQ((*env)->master_addr, "host0");
  EXPECT_EQ((*env)->master_port, 29500);
}

TEST(Communicator, AllReduceSumsManyTensorsInAFewBuckets) {
  // 40 tensors of 1..40 floats (820 floats, 3280 bytes) in buckets of at most 1 KiB.
  auto options = TestOptions();
  options.bucket_bytes = 1024;
  RunRanks(3, options, [](Communicator& c) {
    std::vector<torch::Tensor> ts;
    for (int i = 1; i <= 40; ++i) ts.push_back(torch::full({i}, float(i * (c.rank() + 1))));
    const int64_t before = c.collectives();
    EXPECT_TRUE(c.AllReduceSum(ts, "test").ok());
    const int64_t calls = c.collectives() - before;
    EXPECT_GE(calls, 4);  // 3280 bytes cannot fit in 3 buckets of 1 KiB...
    EXPECT_LE(calls, 8);  // ...and the greedy split needs at most twice that.
    for (int i = 1; i <= 40; ++i) {
      EXPECT_TRUE(torch::equal(ts[i - 1], torch::full({i}, float(i * 6)))) << "tensor " << i;
    }
    // With the default 25 MiB buckets, one collective for all of them.
    return true;
  });
  RunRanks(2, TestOptions(), [](Communicator& c) {
    std::vector<torch::Tensor> ts;
    for (int i = 1; i <= 40; ++i) ts.push_back(torch::ones({i, 3}));
    const int64_t before = c.collectives();
    EXPECT_TRUE(c.AllReduceSum(ts, "test").ok());
    EXPECT_EQ(c.collectives() - before, 1);
    EXPECT_TRUE(torch::equal(ts[39], torch::full({40, 3}, 2.0f)));
    return true;
  });
}

TEST(Communicator, BroadcastGatherAndShare) {
  RunRanks(3, TestOptions(), [](Communicator& c) {
    auto a = torch::full({2, 2}, float(c.rank() + 5));
    auto b = torch::full({3}, int64_t{c.rank() + 7});
    auto flags = torch::tensor({c.rank() == 0, c.rank() != 0});
    EXPECT_TRUE(c.Broadcast({a, b, flags}, "test").ok());
    EXPECT_TRUE(torch::equal(a, torch::full({2, 2}, 5.0f)));
    EXPECT_TRUE(torch::equal(b, torch::full({3}, int64_t{7})));
    EXPECT_TRUE(torch::equal(flags, torch::tensor({true, false})));

    auto mine = torch::full({2}, int64_t{c.rank()});
    auto all = c.AllGather(mine, "test");
    EXPECT_TRUE(all.ok());
    EXPECT_TRUE(torch::equal(*all, torch::tensor({0, 0, 1, 1, 2, 2}, torch::kLong)));
    auto root = c.GatherToRoot(torch::full({1, 2}, float(c.rank())), "test");
    EXPECT_TRUE(root.ok());
    if (c.rank() == 0) {
      EXPECT_TRUE(torch::equal(*root, torch::tensor({{0.f, 0.f}, {1.f, 1.f}, {2.f, 2.f}})));
    } else {
      EXPECT_FALSE(root->defined());
    }
    auto shared = c.ShareFromRoot("k", "from rank " + std::to_string(c.rank()));
    EXPECT_TRUE(shared.ok());
    EXPECT_EQ(*shared, "from rank 0");
    return true;
  });
}

TEST(DataParallel, SignSgdOverRanksEqualsOneProcessOnTheWholeBatch) {
  // 10 embedding rows of width 4; rank 0's batch touches rows 1, 3, 3, 7, rank 1's 3, 5, 7, 7
  // (rows 3 and 7 on both ranks). One process sees all 8 rows' gradients summed per id.
  torch::manual_seed(3);
  const auto w0 = torch::randn({10, 4});
  const std::vector<torch::Tensor> ids = {torch::tensor({1, 3, 3, 7}), torch::tensor({3, 5, 7, 7})};
  std::vector<torch::Tensor> grads;
  for (int r = 0; r < 2; ++r) {
    auto g = torch::zeros({10, 4});
    g.index_add_(0, ids[r], torch::randn({4, 4}));
    grads.push_back(g);
  }
  auto expected = w0.clone();
  SignSgdRows(expected, grads[0] + grads[1], torch::cat(ids), 0.1, 0.5);

  std::vector<torch::Tensor> got(2);
  RunRanks(2, TestOptions(), [&](Communicator& c) {
    auto w = w0.clone();
    EXPECT_TRUE(SignSgdRowsDistributed(c, w, grads[c.rank()], ids[c.rank()], 0.1, 0.5).ok());
    got[c.rank()] = w;
    return true;
  });
  EXPECT_TRUE(torch::equal(got[0], expected)) << got[0] - expected;
  EXPECT_TRUE(torch::equal(got[1], expected));
  // Rows nobody touched kept their values (no decay either).
  for (int row : {0, 2, 4, 6, 8, 9}) EXPECT_TRUE(torch::equal(got[0][row], w0[row])) << row;
  EXPECT_FALSE(torch::equal(got[0][5], w0[5]));  // Touched by rank 1 only: updated on rank 0 too.
}

TEST(DataParallel, DifferentWeightsOnOneRankAreCaughtAndNamed) {
  TrmConfig config;
  config.seq_len = 9;
  config.vocab_size = 4;
  config.hidden_size = 16;
  config.num_heads = 2;
  config.L_layers = 1;
  // Built here, one after the other: torch's generator is shared by the threads.
  std::vector<model::TrmNet> nets;
  for (int r = 0; r < 3; ++r) {
    torch::manual_seed(1);
    nets.emplace_back(config);
  }
  std::vector<std::string> errors(3);
  RunRanks(3, TestOptions(), [&](Communicator& c) {
    model::TrmNet& net = nets[c.rank()];
    auto same = CheckSameWeights(c, net, 1);
    EXPECT_TRUE(same.ok()) << same.status();
    if (c.rank() == 2) {
      torch::NoGradGuard no_grad;
      net->parameters()[0].view(-1)[0].add_(1e-6);
    }
    auto differ = CheckSameWeights(c, net, 2);
    EXPECT_FALSE(differ.ok());
    errors[c.rank()] = std::string(differ.status().message());
    return true;
  });
  for (const auto& e : errors) {
    EXPECT_NE(e.find("after step 2: rank 2 ("), std::string::npos) << e;
    EXPECT_EQ(e.find("rank 1 ("), std::string::npos) << e;
  }
}

TEST(Communicator, ARankThatFailsIsNamedWithItsMessage) {
  std::string error;
  RunRanks(2, TestOptions(), [&](Communicator& c) {
    if (c.rank() == 1) {
      c.ReportFailure("cannot write runs/x: disk full");
      return false;
    }
    auto t = torch::ones({4});
    auto st = c.AllReduceSum({t}, "gradient all-reduce");
    EXPECT_FALSE(st.ok());
    error = std::string(st.message());
    return false;
  });
  EXPECT_NE(error.find("gradient all-reduce at step 0 failed on rank 0"), std::string::npos)
      << error;
  EXPECT_NE(error.find("rank 1 failed: cannot write runs/x: disk full"), std::string::npos)
      << error;
}

TEST(Communicator, ARankThatVanishesIsNamedAfterAFewHeartbeats) {
  // Rank 1's communicator is destroyed without Finish: its sockets close and its heartbeat stops,
  // as when the process is killed.
  std::string error;
  RunRanks(2, TestOptions(), [&](Communicator& c) {
    if (c.rank() == 1) return false;
    auto t = torch::ones({4});
    auto st = c.AllReduceSum({t}, "gradient all-reduce");
    EXPECT_FALSE(st.ok());
    error = std::string(st.message());
    return false;
  });
  EXPECT_NE(error.find("rank 1 (last at step 0) stopped answering"), std::string::npos) << error;
}

TEST(Communicator, ARankThatHangsIsNamedAfterTheTimeout) {
  // The timeout must outlast an ordinary rendezvous: measured here first, with a wide margin.
  auto start = Clock::now();
  RunRanks(2, TestOptions(), [](Communicator&) { return true; });
  const auto setup = Clock::now() - start;
  const auto timeout = std::max<std::chrono::milliseconds>(
      std::chrono::seconds(2), std::chrono::duration_cast<std::chrono::milliseconds>(20 * setup));

  std::string error;
  std::atomic<bool> done{false};
  RunRanks(2, TestOptions(timeout), [&](Communicator& c) {
    if (c.rank() == 1) {  // Alive (heartbeat running) but never joins the collective.
      c.set_step(4);
      while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return false;
    }
    c.set_step(5);
    auto t = torch::ones({4});
    const auto t0 = Clock::now();
    auto st = c.AllReduceSum({t}, "gradient all-reduce");
    EXPECT_GE(Clock::now() - t0, timeout);
    EXPECT_FALSE(st.ok());
    error = std::string(st.message());
    done = true;
    return false;
  });
  EXPECT_NE(error.find("at step 5 failed on rank 0"), std::string::npos) << error;
  EXPECT_NE(error.find("rank 1 (last at step 4) is alive but did not take part"), std::string::npos)
      << error;
}

}  // namespace
}  // namespace trm::train
