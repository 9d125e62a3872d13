// The layers against straightforward reference computations written out loop by loop.
#include "model/layers.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/trm_net.h"

namespace trm::model {
namespace {

TEST(Layers, RmsNormMatchesDefinition) {
  torch::manual_seed(0);
  auto x = torch::randn({3, 5, 8});
  auto y = RmsNorm(x, 1e-5);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) {
      double ss = 0;
      for (int k = 0; k < 8; ++k) ss += std::pow(x[i][j][k].item<double>(), 2);
      const double scale = 1.0 / std::sqrt(ss / 8 + 1e-5);
      for (int k = 0; k < 8; ++k)
        EXPECT_NEAR(y[i][j][k].item<double>(), x[i][j][k].item<double>() * scale, 1e-5);
    }
}

TEST(Layers, RmsNormComputesInFloat32ForBfloat16) {
  auto x = torch::randn({2, 16}).to(torch::kBFloat16);
  auto y = RmsNorm(x, 1e-5);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  auto ref = RmsNorm(x.to(torch::kFloat32), 1e-5).to(torch::kBFloat16);
  EXPECT_TRUE(torch::equal(y, ref));
}

TEST(Layers, TruncNormalInitHasRequestedSpreadAndBounds) {
  torch::manual_seed(1);
  auto t = torch::empty({200000});
  TruncNormalInit_(t, 0.5);
  EXPECT_NEAR(t.std().item<double>(), 0.5, 0.01);
  EXPECT_NEAR(t.mean().item<double>(), 0.0, 0.01);
  // Values are clipped at 2 corrected standard deviations (a bit over 2 * 0.5).
  EXPECT_LT(t.abs().max().item<double>(), 2 * 0.5 * 1.2);
  auto z = torch::ones({4});
  TruncNormalInit_(z, 0.0);
  EXPECT_EQ(z.abs().sum().item<double>(), 0.0);
}

TEST(Layers, CastedLinearCastsWeightsToInputDtype) {
  CastedLinear lin(4, 3, true);
  {
    torch::NoGradGuard g;
    lin->bias.fill_(0.5);
  }
  auto x = torch::randn({2, 4});
  auto y = lin->forward(x);
  auto ref = torch::matmul(x, lin->weight.t()) + 0.5;
  EXPECT_TRUE(torch::allclose(y, ref, 1e-5, 1e-6));
  EXPECT_EQ(lin->forward(x.to(torch::kBFloat16)).scalar_type(), torch::kBFloat16);
  EXPECT_EQ(lin->weight.scalar_type(), torch::kFloat32);  // Kept in float32.
}

TEST(Layers, SwiGluMatchesDefinition) {
  torch::manual_seed(2);
  SwiGlu mlp(8, 4.0);
  EXPECT_EQ(mlp->gate_up_proj->weight.size(0), 2 * 256);
  auto x = torch::randn({1, 3, 8});
  auto gu = torch::matmul(x, mlp->gate_up_proj->weight.t());
  auto gate = gu.narrow(-1, 0, 256), up = gu.narrow(-1, 256, 256);
  auto ref = torch::matmul(gate * torch::sigmoid(gate) * up, mlp->down_proj->weight.t());
  EXPECT_TRUE(torch::allclose(mlp->forward(x), ref, 1e-4, 1e-5));
}

TEST(Layers, RotaryRotatesPairsHalfADimensionApart) {
  const int64_t d = 4, positions = 3;
  auto cs = MakeRotaryTables(d, positions, 10000.0);
  auto x = torch::randn({1, positions, 1, d});
  auto y = ApplyRotary(x, cs);
  for (int p = 0; p < positions; ++p)
    for (int i = 0; i < d / 2; ++i) {
      const double theta = p / std::pow(10000.0, 2.0 * i / d);
      const double a = x[0][p][0][i].item<double>(), b = x[0][p][0][i + d / 2].item<double>();
      EXPECT_NEAR(y[0][p][0][i].item<double>(), a * std::cos(theta) - b * std::sin(theta), 1e-5);
      EXPECT_NEAR(y[0][p][0][i + d / 2].item<double>(), b * std::cos(theta) + a * std::sin(theta),
                  1e-5);
    }
}

TEST(Layers, AttentionMatchesLoopReference) {
  torch::manual_seed(3);
  const int64_t hidden = 8, heads = 2, dh = 4, seq = 5;
  Attention attn(hidden, heads);
  auto x = torch::randn({1, seq, hidden});
  auto got = attn->forward(x, nullptr);
  auto qkv = torch::matmul(x, attn->qkv_proj->weight.t())[0];  // [seq, 3 * hidden]
  auto concat = torch::zeros({seq, hidden});
  for (int h = 0; h < heads; ++h) {
    auto q = qkv.narrow(1, h * dh, dh), k = qkv.narrow(1, hidden + h * dh, dh),
         v = qkv.narrow(1, 2 * hidden + h * dh, dh);
    for (int i = 0; i < seq; ++i) {
      std::vector<double> w(seq);
      double mx = -1e30, sum = 0;
      for (int j = 0; j < seq; ++j) {
        w[j] = (q[i] * k[j]).sum().item<double>() / std::sqrt(double(dh));
        mx = std::max(mx, w[j]);
      }
      for (int j = 0; j < seq; ++j) sum += (w[j] = std::exp(w[j] - mx));
      for (int j = 0; j < seq; ++j) concat[i].narrow(0, h * dh, dh) += v[j] * (w[j] / sum);
    }
  }
  auto ref = torch::matmul(concat, attn->o_proj->weight.t());
  EXPECT_TRUE(torch::allclose(got[0], ref, 1e-4, 1e-5));
}

TrmConfig Tiny() {
  TrmConfig c;
  c.seq_len = 9;
  c.vocab_size = 5;
  c.hidden_size = 16;
  c.num_heads = 2;
  c.H_cycles = 2;
  c.L_cycles = 2;
  c.puzzle_emb_ndim = 16;
  c.puzzle_emb_len = 2;
  c.halt_max_steps = 4;
  return c;
}

TEST(TrmNet, StepShapesAndOfficialInit) {
  TrmNet net(Tiny());
  torch::InferenceMode guard;
  auto carry = net->InitialCarry(3);
  EXPECT_EQ(carry.z_h.sizes(), (std::vector<int64_t>{3, 11, 16}));
  auto inputs = torch::randint(0, 5, {3, 9}, torch::kInt32);
  auto ids = torch::zeros({3}, torch::kInt32);
  auto [next, out] = net->ActStep(carry, inputs, ids);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 9, 5}));
  EXPECT_EQ(out.q_halt.sizes(), (std::vector<int64_t>{3}));
  // Official q_head init: weight 0, bias -5, so every q logit is exactly -5 before training.
  EXPECT_TRUE(torch::allclose(out.q_halt, torch::full({3}, -5.0)));
}

TEST(TrmNet, ResetCarryRestoresOnlyMaskedRows) {
  TrmNet net(Tiny());
  torch::InferenceMode guard;
  auto inputs = torch::randint(0, 5, {2, 9}, torch::kInt32);
  auto ids = torch::zeros({2}, torch::kInt32);
  auto carry = net->ActStep(net->InitialCarry(2), inputs, ids).first;
  auto reset = net->ResetCarry(carry, torch::tensor({true, false}));
  EXPECT_TRUE(torch::equal(reset.z_h[0], net->InitialCarry(1).z_h[0]));
  EXPECT_TRUE(torch::equal(reset.z_h[1], carry.z_h[1]));
  EXPECT_TRUE(torch::equal(reset.z_l[1], carry.z_l[1]));
}

TEST(TrmNet, OnlyLastCycleRecordsGradients) {
  TrmNet net(Tiny());
  auto inputs = torch::randint(0, 5, {2, 9}, torch::kInt32);
  auto ids = torch::zeros({2}, torch::kInt32);
  auto [carry, out] = net->ActStep(net->InitialCarry(2), inputs, ids);
  EXPECT_FALSE(carry.z_h.requires_grad());  // The carry is detached, as officially.
  ASSERT_TRUE(out.logits.requires_grad());
  out.logits.sum().backward();
  for (const auto& p : net->named_parameters()) {
    if (p.key().find("q_head") == std::string::npos) {
      EXPECT_TRUE(p.value().grad().defined()) << p.key();
    }
  }
}

TEST(TrmNet, RowsAreIndependentOfTheirBatch) {
  // A row's result must not depend on the other rows: the engine's batching relies on it.
  TrmNet net(Tiny());
  torch::InferenceMode guard;
  auto inputs = torch::randint(0, 5, {4, 9}, torch::kInt32);
  auto ids = torch::zeros({4}, torch::kInt32);
  auto all = net->ActStep(net->InitialCarry(4), inputs, ids).second;
  auto one = net->ActStep(net->InitialCarry(1), inputs.narrow(0, 2, 1), ids.narrow(0, 2, 1)).second;
  EXPECT_TRUE(torch::allclose(all.logits[2], one.logits[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(all.logits[2].argmax(-1), one.logits[0].argmax(-1)));
}

}  // namespace
}  // namespace trm::model
