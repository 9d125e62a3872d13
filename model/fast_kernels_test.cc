// The fast step's kernels, each instruction set's (AVX-512 and AVX2 + FMA), against loops
// written out in double precision (and against torch's own bfloat16 rounding). An instruction
// set this CPU lacks is skipped, by name; this machine runs both.
#include "model/fast_kernels.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <vector>

namespace trm::model::fast {
namespace {

class FastKernels : public testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    cpu_ = DetectCpuFeatures();
    if (!CpuHas(cpu_, GetParam())) {
      GTEST_SKIP() << "this CPU has no " << IsaName(GetParam()) << "; those kernels never run here";
    }
    k_ = &KernelsFor(GetParam());
  }
  std::vector<float> Random(size_t n, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng_);
    return v;
  }
  CpuFeatures cpu_;
  const Kernels* k_ = nullptr;
  std::mt19937 rng_{7};
};

// C = A W^T in double, with A and W optionally rounded to bfloat16 first.
std::vector<double> Reference(const std::vector<float>& a, const std::vector<float>& w, int m,
                              int k, int n, bool bf16) {
  std::vector<double> c(static_cast<size_t>(m) * n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double acc = 0;
      for (int kk = 0; kk < k; ++kk) {
        const float x = a[i * k + kk], y = w[j * k + kk];
        acc += bf16 ? double{RoundBf16(x)} * RoundBf16(y) : double{x} * y;
      }
      c[i * n + j] = acc;
    }
  }
  return c;
}

TEST_P(FastKernels, GemmMatchesDefinitionAtEveryEdgeOfTheBlocking) {
  // Rows around the 6/8/12-row blocks, columns around the 16-lane vectors and 64-wide panels.
  for (int m : {1, 5, 6, 7, 12, 13, 49}) {
    for (int k : {1, 16, 33, 81}) {
      for (int n : {1, 11, 16, 17, 48, 64, 65, 130}) {
        const auto a = Random(m * k), w = Random(n * k);
        const auto want = Reference(a, w, m, k, n, false);
        using Format = PackedWeight::Format;
        for (Format format : {Format::kFloat32, Format::kBfloat16Values, Format::kBfloat16Pairs}) {
          // Pairs are AVX512_BF16's alone.
          if (format == Format::kBfloat16Pairs && (!cpu_.avx512_bf16 || !k_->gemm_bf16)) continue;
          const bool bf16 = format != Format::kFloat32;
          // A row stride wider than k, and a guard column after each output row.
          std::vector<float> a_wide(m * (k + 3));
          for (int i = 0; i < m; ++i)
            for (int kk = 0; kk < k; ++kk) a_wide[i * (k + 3) + kk] = a[i * k + kk];
          if (format == Format::kBfloat16Values) {
            for (float& x : a_wide) x = RoundBf16(x);  // The step feeds it rounded values.
          }
          PackedWeight packed(w.data(), k, n, k, format);
          std::vector<float> c(m * (n + 1), 12345.0f);
          if (format == Format::kBfloat16Pairs) {
            std::vector<uint32_t> scratch(m * ((k + 1) / 2 + 16));
            k_->gemm_bf16(a_wide.data(), k + 3, m, packed.bf16(), c.data(), n + 1, scratch.data());
          } else {
            k_->gemm(a_wide.data(), k + 3, m, packed.f32(), c.data(), n + 1);
          }
          const auto exact = bf16 ? Reference(a, w, m, k, n, true) : want;
          for (int i = 0; i < m; ++i) {
            for (int j = 0; j < n; ++j) {
              ASSERT_NEAR(c[i * (n + 1) + j], exact[i * n + j], 1e-5 * (k + 1))
                  << "m " << m << " k " << k << " n " << n << " format " << int(format);
            }
            ASSERT_EQ(c[i * (n + 1) + n], 12345.0f) << "wrote past column n";
          }
        }
      }
    }
  }
}

TEST_P(FastKernels, RoundBf16IsTorchsRounding) {
  auto x = torch::randn({4096}) * 100;
  x.index_put_({0}, 1.00390625f);  // Exactly halfway between two bfloat16 values: to even.
  x.index_put_({1}, 1.01171875f);
  auto want = x.to(torch::kBFloat16).to(torch::kFloat32);
  auto got = x.clone();
  k_->round_bf16(got.data_ptr<float>(), got.numel());
  EXPECT_TRUE(torch::equal(got, want));
  for (int i = 0; i < 64; ++i) EXPECT_EQ(RoundBf16(x[i].item<float>()), want[i].item<float>());
}

TEST_P(FastKernels, AddRmsNormAndSwiGluMatchDefinitions) {
  const int rows = 3, cols = 37, inner = 21;
  auto x = Random(rows * cols), r = Random(rows * cols);
  auto got = x;
  k_->add_rms_norm(got.data(), cols, r.data(), cols, rows, cols, 1e-5f, false);
  for (int i = 0; i < rows; ++i) {
    double ss = 0;
    for (int j = 0; j < cols; ++j) ss += std::pow(double{x[i * cols + j]} + r[i * cols + j], 2);
    const double scale = 1 / std::sqrt(ss / cols + 1e-5);
    for (int j = 0; j < cols; ++j) {
      EXPECT_NEAR(got[i * cols + j], (double{x[i * cols + j]} + r[i * cols + j]) * scale, 1e-5);
    }
  }
  auto gu = Random(rows * 2 * inner, 4.0f);
  std::vector<float> out(rows * inner);
  k_->swiglu(gu.data(), 2 * inner, rows, inner, out.data(), inner, false);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < inner; ++j) {
      const double g = gu[i * 2 * inner + j], u = gu[i * 2 * inner + inner + j];
      EXPECT_NEAR(out[i * inner + j], g / (1 + std::exp(-g)) * u, 1e-5 * (1 + std::abs(g * u)));
    }
  }
}

TEST_P(FastKernels, SoftmaxAndRotaryMatchDefinitions) {
  const int rows = 2, cols = 97;
  auto x = Random(rows * cols, 8.0f);
  auto e = x;
  float inv[rows];
  k_->softmax_rows(e.data(), cols, rows, cols, inv);
  for (int i = 0; i < rows; ++i) {
    double mx = -1e30, sum = 0;
    for (int j = 0; j < cols; ++j) mx = std::max<double>(mx, x[i * cols + j]);
    for (int j = 0; j < cols; ++j) sum += std::exp(x[i * cols + j] - mx);
    for (int j = 0; j < cols; ++j) {
      const double want = std::exp(x[i * cols + j] - mx) / sum;
      EXPECT_NEAR(e[i * cols + j] * inv[i], want, 1e-6 + 1e-5 * want);
    }
  }
  const int heads = 3;
  for (int dim : {16, 32, 40, 64, 8}) {
    auto v = Random(heads * dim), cos = Random(dim), sin = Random(dim);
    std::vector<float> out(heads * dim);
    k_->rotary(v.data(), cos.data(), sin.data(), dim, heads, 0.5f, false, out.data());
    const int half = dim / 2;
    for (int h = 0; h < heads; ++h) {
      const float* x = v.data() + h * dim;
      for (int j = 0; j < dim; ++j) {
        const double rot = j < half ? -double{x[j + half]} : x[j - half];
        EXPECT_NEAR(out[h * dim + j], 0.5 * (x[j] * double{cos[j]} + rot * sin[j]), 1e-5)
            << "dim " << dim << " head " << h << " value " << j;
      }
    }
  }
}

// The softmax's exponentials (kExp2Poly) keep the error fast_kernels.h states: relative to the
// row's largest, exp(x - max) within 4e-7 + 1e-7 |x - max| (the polynomial's 1-2 ulp on both, and
// the argument's rounding, half an ulp of t = 1.44 |x - max|: 6e-8 |x - max| measured up to 7e-8 at
// the top of a binade), at maxima near zero and far from it; the returned sum is that of the row.
TEST_P(FastKernels, SoftmaxExponentialsHaveBoundedError) {
  const int cols = 4099;  // every lane position and a tail
  std::uniform_real_distribution<float> below(0.0f, 87.0f);
  for (float max : {0.0f, 37.5f, -61.25f, 1000.0f}) {
    std::vector<float> x(cols);
    for (float& v : x) v = max - below(rng_);
    x[cols / 3] = max;
    std::vector<float> e = x;
    float inv = 0;
    k_->softmax_rows(e.data(), cols, 1, cols, &inv);
    const double top = e[cols / 3];
    double worst = 0, sum = 0;
    for (int j = 0; j < cols; ++j) {
      const double d = double{max} - x[j], want = std::exp(-d);
      const double err = std::abs(e[j] / top - want) / want;
      worst = std::max(worst, err / (4e-7 + 1e-7 * d));
      sum += e[j];
    }
    EXPECT_LE(worst, 1.0) << "max " << max << ": the worst error as a share of the bound";
    EXPECT_NEAR(1.0 / (inv * sum), 1.0, 1e-6) << "max " << max;
  }
}

// Scores far below a row's maximum (a masked or hopeless position) go to zero, not to garbage:
// the AVX2 exp builds 2^n in the exponent bits and must clamp.
TEST_P(FastKernels, SoftmaxOfScoresFarBelowTheMaximumIsZero) {
  std::vector<float> x = {0.0f, -90.0f, -200.0f, -1e30f, 1.0f, -87.0f, -1000.0f, 0.5f, -3.0f};
  const std::vector<float> in = x;
  float inv = 0;
  k_->softmax_rows(x.data(), 9, 1, 9, &inv);
  double sum = 0;
  for (float v : in) sum += std::exp(double{v} - 1.0);
  for (size_t j = 0; j < x.size(); ++j) {
    EXPECT_NEAR(x[j] * inv, std::exp(double{in[j]} - 1.0) / sum, 1e-7) << j;
    EXPECT_GE(x[j], 0.0f) << j;
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, FastKernels, testing::Values(Isa::kAvx512, Isa::kAvx2),
                         [](const testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

}  // namespace
}  // namespace trm::model::fast
