// The fast CPU step against the libtorch reference step on random networks of every shape the
// fast path handles (RoPE / learned / no positions, mlp_t, puzzle prefixes, head sizes below,
// at and above a 64-wide panel), batches that split unevenly between threads, one and two
// threads; and the guards around it (changed weights repack, autograd takes the reference).
#include <gtest/gtest.h>

#include "model/fast_kernels.h"
#include "model/fast_step.h"
#include "model/step_runner.h"

namespace trm::model {
namespace {

struct Shape {
  const char* name;
  int hidden, heads;
  std::string pos;
  bool mlp_t;
  int puzzle_emb_ndim, puzzle_emb_len;
};

TrmConfig ConfigOf(const Shape& s, const std::string& dtype) {
  TrmConfig c;
  c.seq_len = 30;
  c.vocab_size = 7;
  c.hidden_size = s.hidden;
  c.num_heads = s.heads;
  c.pos_encodings = s.pos;
  c.mlp_t = s.mlp_t;
  c.puzzle_emb_ndim = s.puzzle_emb_ndim;
  c.puzzle_emb_len = s.puzzle_emb_len;
  c.num_puzzle_identifiers = 3;
  c.H_cycles = 2;
  c.L_cycles = 2;
  c.L_layers = 2;
  c.forward_dtype = dtype;
  return c;
}

// Every weight random (the official init zeroes the Q head and the puzzle embeddings).
TrmNet RandomNet(const TrmConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  TrmNet net(c);
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.normal_(0.0, 1.0 / std::sqrt(double(p.size(-1))));
  return net;
}

struct Outputs {
  Carry carry;
  StepOutputs out;
  bool fast;
};

// `steps` steps from the initial carry on `runner` (a runner of `net`).
Outputs Steps(TrmNet& net, StepRunner& runner, const torch::Tensor& inputs,
              const torch::Tensor& ids, int steps) {
  torch::InferenceMode guard;
  Carry carry = net->InitialCarry(inputs.size(0));
  StepOutputs out;
  for (int k = 0; k < steps; ++k) std::tie(carry, out) = runner.ActStep(carry, inputs, ids);
  return {carry, out, runner.last_step_fast()};
}

// The same on a new runner for `kernels`.
Outputs Steps(TrmNet& net, CpuKernels kernels, const torch::Tensor& inputs,
              const torch::Tensor& ids, int steps) {
  return Steps(net, *MakeStepRunner(net, kernels), inputs, ids, steps);
}

// `n` random puzzles (tokens and puzzle ids) for the model `c`.
std::pair<torch::Tensor, torch::Tensor> RandomBatch(const TrmConfig& c, int64_t n) {
  return {torch::randint(0, c.vocab_size, {n, c.seq_len}, torch::kInt32),
          torch::randint(0, c.num_puzzle_identifiers, {n}, torch::kInt32)};
}

double RelL2(const torch::Tensor& got, const torch::Tensor& want) {
  auto g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
  return ((g - w).norm() / w.norm().clamp_min(1e-12)).item<double>();
}

// Each test runs on every fast instruction set (the parameter: kAvx512, kAvx2); one this CPU
// lacks is skipped, by name (this machine runs both).
class FastNetTest : public testing::TestWithParam<CpuKernels> {
 protected:
  void SetUp() override {
    if (absl::Status s = CheckCpuKernels(GetParam()); !s.ok()) GTEST_SKIP() << s.message();
    threads_ = torch::get_num_threads();
    // The reference's many small ops run faster without thread hand-offs (tests that want
    // two threads on the fast path ask for them).
    torch::set_num_threads(1);
  }
  void TearDown() override { torch::set_num_threads(threads_); }
  int threads_ = 1;
};

const Shape kShapes[] = {
    {"rope, 4 heads of 16, 16-position prefix", 64, 4, "rope", false, 64, 16},
    {"learned, 1 head of 32, 2-position prefix from 40 values", 32, 1, "learned", false, 40, 0},
    {"no positions, 2 heads of 80 (two value panels)", 160, 2, "none", false, 0, 0},
    {"mlp_t, 8-position prefix", 48, 2, "none", true, 48, 8},
};

TEST_P(FastNetTest, Float32MatchesReference) {
  for (const Shape& shape : kShapes) {
    SCOPED_TRACE(shape.name);
    const TrmConfig c = ConfigOf(shape, "float32");
    TrmNet net = RandomNet(c, 1);
    for (int batch : {1, 3}) {
      const auto inputs = torch::randint(0, c.vocab_size, {batch, c.seq_len}, torch::kInt32);
      const auto ids = torch::randint(0, c.num_puzzle_identifiers, {batch}, torch::kInt32);
      torch::set_num_threads(1);
      const Outputs want = Steps(net, CpuKernels::kReference, inputs, ids, 2);
      ASSERT_FALSE(want.fast);
      for (int threads : {1, 2}) {
        torch::set_num_threads(threads);
        const Outputs got = Steps(net, GetParam(), inputs, ids, 2);
        ASSERT_TRUE(got.fast);
        SCOPED_TRACE(testing::Message() << "batch " << batch << ", threads " << threads);
        EXPECT_LT((got.out.logits - want.out.logits).abs().max().item<double>(), 1e-3);
        EXPECT_LT((got.out.q_halt - want.out.q_halt).abs().max().item<double>(), 1e-3);
        EXPECT_LT((got.out.q_continue - want.out.q_continue).abs().max().item<double>(), 1e-3);
        EXPECT_LT((got.carry.z_h - want.carry.z_h).abs().max().item<double>(), 1e-3);
        EXPECT_LT((got.carry.z_l - want.carry.z_l).abs().max().item<double>(), 1e-3);
        EXPECT_EQ(got.carry.z_h.scalar_type(), torch::kFloat32);
        EXPECT_EQ(got.out.logits.sizes(), want.out.logits.sizes());
      }
    }
  }
}

// One bfloat16 rounding that lands the other way (a different summation order) moves a value by
// 2^-8; a random network's recursion amplifies that (two fast variants differ as much from each
// other as from the reference after a few cycles), so the comparison runs a shallow step. The
// parity vectors check the deep recursion of the official initialisation.
TEST_P(FastNetTest, Bfloat16MatchesReferenceWithAndWithoutBf16Dots) {
  for (const Shape& shape : kShapes) {
    SCOPED_TRACE(shape.name);
    TrmConfig c = ConfigOf(shape, "bfloat16");
    c.H_cycles = 1;
    c.L_cycles = 1;
    TrmNet net = RandomNet(c, 2);
    const auto [inputs, ids] = RandomBatch(c, 3);
    const Outputs want = Steps(net, CpuKernels::kReference, inputs, ids, 1);
    std::vector<CpuKernels> variants = {GetParam()};
    if (GetParam() == CpuKernels::kAvx512) variants.push_back(CpuKernels::kAvx512NoBf16Dot);
    for (CpuKernels kernels : variants) {
      const Outputs got = Steps(net, kernels, inputs, ids, 1);
      ASSERT_TRUE(got.fast);
      EXPECT_EQ(got.carry.z_h.scalar_type(), torch::kBFloat16);
      // The parity vectors' bfloat16 bound (shared/parity/README.md).
      EXPECT_LT(RelL2(got.out.logits, want.out.logits), 3e-2);
      // q is one dot product of about unit size, often near 0: an absolute bound.
      EXPECT_LT((got.out.q_halt - want.out.q_halt).abs().max().item<double>(), 5e-2);
      EXPECT_LT((got.out.q_continue - want.out.q_continue).abs().max().item<double>(), 5e-2);
      EXPECT_LT(RelL2(got.carry.z_h, want.carry.z_h), 3e-2);
    }
  }
}

// The lm_head's left operand spans every answer position of a puzzle, many row tiles on a long
// sequence; on the 30x30 maze shape (900 positions, hidden 128) it overran the bfloat16 GEMM's
// one-tile scratch and crashed.
TEST_P(FastNetTest, Bfloat16SequencesLongerThanARowTileMatchReference) {
  const Shape shape{"rope, 2 heads of 64, 300 positions", 128, 2, "rope", false, 0, 0};
  TrmConfig c = ConfigOf(shape, "bfloat16");
  c.seq_len = 300;
  c.H_cycles = 1;
  c.L_cycles = 1;
  c.L_layers = 1;
  TrmNet net = RandomNet(c, 3);
  const auto [inputs, ids] = RandomBatch(c, 2);
  const Outputs want = Steps(net, CpuKernels::kReference, inputs, ids, 1);
  const Outputs got = Steps(net, GetParam(), inputs, ids, 1);
  ASSERT_TRUE(got.fast);
  EXPECT_LT(RelL2(got.out.logits, want.out.logits), 3e-2);
  EXPECT_LT(RelL2(got.carry.z_h, want.carry.z_h), 3e-2);
}

// The profile's products, counted from the GEMMs the step actually ran, are FlopsPerPuzzle's
// formula (what every GFLOP/s figure divides by); every op's time lies within the team's time.
TEST_P(FastNetTest, StepProfileCountsTheFormulasFlopsAndFitsInTheStep) {
  for (const Shape& shape : {kShapes[0], kShapes[3]}) {
    SCOPED_TRACE(shape.name);
    const TrmConfig c = ConfigOf(shape, "float32");
    TrmNet net = RandomNet(c, 4);
    const auto [inputs, ids] = RandomBatch(c, 3);
    torch::set_num_threads(2);
    fast::StepProfile profile;
    const std::unique_ptr<StepRunner> runner = MakeStepRunner(net, GetParam());
    runner->set_step_profile(&profile);
    ASSERT_TRUE(Steps(net, *runner, inputs, ids, 2).fast);
    runner->set_step_profile(nullptr);
    Steps(net, *runner, inputs, ids, 1);  // unprofiled: adds nothing
    ASSERT_EQ(profile.steps, 2);
    double flops = 0, seconds = 0;
    for (int i = 0; i < fast::kStepOpCount; ++i) {
      flops += profile.flops[i];
      seconds += profile.seconds[i];
    }
    EXPECT_DOUBLE_EQ(flops, 2 * 3 * fast::FastStep::FlopsPerPuzzle(c));
    EXPECT_GT(profile.calls[static_cast<int>(shape.mlp_t ? fast::StepOp::kMixGateUp
                                                         : fast::StepOp::kSoftmax)],
              0);
    EXPECT_GT(seconds, 0);
    EXPECT_LE(seconds, profile.thread_seconds);
    EXPECT_DOUBLE_EQ(profile.thread_seconds, 2 * profile.step_seconds);
  }
}

// Training updates weights in place between evaluations: the next fast step must see them.
TEST_P(FastNetTest, ChangedWeightsAreRepacked) {
  const TrmConfig c = ConfigOf(kShapes[0], "float32");
  TrmNet net = RandomNet(c, 3);
  const auto inputs = torch::randint(0, c.vocab_size, {2, c.seq_len}, torch::kInt32);
  const auto ids = torch::zeros({2}, torch::kInt32);
  const std::unique_ptr<StepRunner> runner = MakeStepRunner(net, GetParam());
  const Outputs before = Steps(net, *runner, inputs, ids, 1);
  {
    torch::NoGradGuard no_grad;
    net->named_parameters()["inner.L_level.layers.1.mlp.down_proj.weight"].mul_(-1.5);
  }
  const Outputs after = Steps(net, *runner, inputs, ids, 1);
  EXPECT_TRUE(after.fast);
  const Outputs want = Steps(net, CpuKernels::kReference, inputs, ids, 1);
  EXPECT_GT((after.out.logits - before.out.logits).abs().max().item<double>(), 1e-2);
  EXPECT_LT((after.out.logits - want.out.logits).abs().max().item<double>(), 1e-3);
}

// Fixed slots: the step runs on rows [0, n) of preallocated tensors, in place, and gives what
// ActStep gives; on the reference path too.
TEST_P(FastNetTest, ActStepIntoWritesPreallocatedPrefixes) {
  for (const Shape& shape : {kShapes[0], kShapes[3]}) {
    SCOPED_TRACE(shape.name);
    for (const std::string dtype : {"float32", "bfloat16"}) {
      const TrmConfig c = ConfigOf(shape, dtype);
      TrmNet net = RandomNet(c, 5);
      const int64_t capacity = 5, n = 3;
      const auto inputs = torch::randint(0, c.vocab_size, {capacity, c.seq_len}, torch::kInt32);
      const auto ids = torch::zeros({capacity}, torch::kInt32);
      for (CpuKernels kernels : {GetParam(), CpuKernels::kReference}) {
        torch::InferenceMode guard;
        const std::unique_ptr<StepRunner> runner = MakeStepRunner(net, kernels);
        const Carry start = net->InitialCarry(n);
        auto [want_carry, want] =
            runner->ActStep(start, inputs.narrow(0, 0, n), ids.narrow(0, 0, n));
        EXPECT_EQ(runner->last_step_fast(), kernels == GetParam());

        Carry slots = net->InitialCarry(capacity);
        Carry prefix{slots.z_h.narrow(0, 0, n), slots.z_l.narrow(0, 0, n)};
        auto logits = torch::full({capacity, c.seq_len, c.vocab_size}, -7.0f);
        auto q = torch::full({capacity, 2}, -7.0f);
        StepOutputs out{logits.narrow(0, 0, n), q.select(1, 0).narrow(0, 0, n),
                        q.select(1, 1).narrow(0, 0, n)};
        runner->ActStepInto(prefix, inputs.narrow(0, 0, n), ids.narrow(0, 0, n), out);
        EXPECT_TRUE(torch::equal(slots.z_h.narrow(0, 0, n), want_carry.z_h));
        EXPECT_TRUE(torch::equal(slots.z_l.narrow(0, 0, n), want_carry.z_l));
        EXPECT_TRUE(torch::equal(logits.narrow(0, 0, n), want.logits));
        EXPECT_TRUE(torch::equal(q.select(1, 0).narrow(0, 0, n), want.q_halt));
        EXPECT_TRUE(torch::equal(q.select(1, 1).narrow(0, 0, n), want.q_continue));
        // Rows past n are untouched.
        EXPECT_TRUE(torch::equal(slots.z_h.narrow(0, n, capacity - n),
                                 net->InitialCarry(capacity - n).z_h));
        EXPECT_EQ(logits.narrow(0, n, capacity - n).max().item<float>(), -7.0f);
        EXPECT_EQ(q.narrow(0, n, capacity - n).max().item<float>(), -7.0f);
      }
    }
  }
}

TEST_P(FastNetTest, AutogradAndWrongCarriesTakeTheReferenceOrFailClearly) {
  const TrmConfig c = ConfigOf(kShapes[0], "float32");
  TrmNet net = RandomNet(c, 4);
  const auto inputs = torch::randint(0, c.vocab_size, {2, c.seq_len}, torch::kInt32);
  const auto ids = torch::zeros({2}, torch::kInt32);
  const std::unique_ptr<StepRunner> runner = MakeStepRunner(net, GetParam());
  EXPECT_EQ(runner->kernels_in_use(), GetParam() == CpuKernels::kAvx2 ? "avx2" : "avx512");
  auto [carry, out] = runner->ActStep(net->InitialCarry(2), inputs, ids);  // Grad mode on.
  EXPECT_FALSE(runner->last_step_fast());
  EXPECT_TRUE(out.logits.requires_grad());
  torch::InferenceMode guard;
  try {
    runner->ActStep(net->InitialCarry(3), inputs, ids);
    ADD_FAILURE() << "a carry of 3 rows for 2 inputs was accepted";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ActStep: carry is"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, FastNetTest, testing::Values(CpuKernels::kAvx512, CpuKernels::kAvx2),
                         [](const testing::TestParamInfo<CpuKernels>& info) {
                           return std::string(info.param == CpuKernels::kAvx2 ? "avx2" : "avx512");
                         });

// auto picks the fastest kernels the CPU has, and each forced choice is reported as it runs.
TEST(CpuKernelsTest, AutoPicksTheWidestAndEachChoiceIsReported) {
  const fast::CpuFeatures cpu = fast::DetectCpuFeatures();
  const std::string widest = cpu.avx512 ? (cpu.avx512_bf16 ? "avx512_bf16" : "avx512")
                             : cpu.avx2 ? "avx2"
                                        : "reference";
  EXPECT_EQ(CpuKernelsInUse(CpuKernels::kAuto, /*bf16_model=*/true), widest);
  EXPECT_EQ(CpuKernelsInUse(CpuKernels::kAuto, false), widest == "avx512_bf16" ? "avx512" : widest);
  EXPECT_EQ(CpuKernelsInUse(CpuKernels::kReference, true), "reference");
  if (cpu.avx2) {
    EXPECT_EQ(CpuKernelsInUse(CpuKernels::kAvx2, true), "avx2");
    EXPECT_TRUE(CheckCpuKernels(CpuKernels::kAvx2).ok());
  } else {
    EXPECT_EQ(CheckCpuKernels(CpuKernels::kAvx2).code(), absl::StatusCode::kFailedPrecondition);
  }
  if (cpu.avx512) {
    EXPECT_EQ(CpuKernelsInUse(CpuKernels::kAvx512NoBf16Dot, true), "avx512");
    EXPECT_TRUE(CheckCpuKernels(CpuKernels::kAvx512).ok());
  } else {
    const absl::Status s = CheckCpuKernels(CpuKernels::kAvx512);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(s.message().find("no AVX-512"), std::string::npos) << s;
  }
  // The names the flag takes, the earlier ones included.
  for (const auto& [name, want] : std::vector<std::pair<std::string, CpuKernels>>{
           {"auto", CpuKernels::kAuto},
           {"fast", CpuKernels::kAuto},
           {"avx512", CpuKernels::kAvx512},
           {"avx2", CpuKernels::kAvx2},
           {"reference", CpuKernels::kReference},
           {"avx512_no_bf16_dot", CpuKernels::kAvx512NoBf16Dot}}) {
    auto k = ParseCpuKernels(name);
    ASSERT_TRUE(k.ok()) << name;
    EXPECT_EQ(*k, want) << name;
  }
  EXPECT_NE(ParseCpuKernels("sse2").status().message().find("expected auto, avx512, avx2"),
            std::string::npos);
}

}  // namespace
}  // namespace trm::model
