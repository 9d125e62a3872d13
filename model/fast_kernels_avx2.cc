// The kernels of model/fast_kernels.h for CPUs with AVX2 and FMA but no AVX-512 (AMD Zen 2/3,
// most Intel client CPUs, older Xeons): 8 float32 lanes and 16 ymm registers. Same maths as the
// AVX-512 versions, tails by masked loads and stores. There is no bfloat16 dot product in AVX2:
// bfloat16 models use kBfloat16Values panels (weights rounded to bfloat16, float32 dots).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "model/fast_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace trm::model::fast {
namespace {

// Lanes [0, n) of a load or store mask.
__m256i TailMask(int n) {
  n = std::clamp(n, 0, 8);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

__m256 LoadN(const float* p, int n) {
  return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, TailMask(n));
}
void StoreN(float* p, __m256 v, int n) {
  if (n >= 8) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, TailMask(n), v);
  }
}

float ReduceAdd(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
float ReduceMax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// An MR x (8 NV) block of C from MR rows of A and 8 NV columns of one panel of B (row stride
// ldb): MR x NV accumulators, NV loads of B per k step shared by the MR rows.
template <int MR, int NV>
void KernelF32(int k, const float* a, int64_t lda, const float* b, int ldb, float* c, int64_t ldc,
               int cols) {
  __m256 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  for (int kk = 0; kk < k; ++kk) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_loadu_ps(b + kk * ldb + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + kk);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) StoreN(c + r * ldc + 8 * v, acc[r][v], cols - 8 * v);
  }
}

// Rows per block: 6 x 2 accumulators, 2 of B and 1 broadcast of the 16 ymm registers.
constexpr int kRows = 6;

template <int MR, int NV>
void KernelF32Rows(int rows, int k, const float* a, int64_t lda, const float* b, int ldb, float* c,
                   int64_t ldc, int cols) {
  if constexpr (MR > 1) {
    if (rows < MR) return KernelF32Rows<MR - 1, NV>(rows, k, a, lda, b, ldb, c, ldc, cols);
  }
  KernelF32<MR, NV>(k, a, lda, b, ldb, c, ldc, cols);
}

// 2^e for integer lanes -126 <= e <= 127, from the exponent bits.
__m256 Pow2(__m256i e) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

// 2^t on 8 lanes (kExp2Poly, as on AVX-512): t = n + f with n = floor(t), 2^n built in the
// exponent bits. t is clamped to [-126, 127], where 2^n is a normal float; the softmax's t is at
// most a rounding above 0, and below 2^-126 (1e-38) no row's sum (at least 1) notices.
__m256 Exp2(__m256 t) {
  t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-126.0f)), _mm256_set1_ps(127.0f));
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_set1_ps(kExp2Poly[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2Poly[i]));
  return _mm256_mul_ps(p, Pow2(_mm256_cvtps_epi32(n)));
}

// exp(x - max) as 2^(x log2(e) - max_log2e), one fused multiply-add from x to t.
__m256 ExpBelow(__m256 x, __m256 max_log2e) {
  return Exp2(_mm256_fmsub_ps(x, _mm256_set1_ps(kLog2e), max_log2e));
}

__m256 RoundBf16V(__m256 x) {
  __m256i u = _mm256_castps_si256(x);
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  u = _mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7FFF)));
  return _mm256_castsi256_ps(_mm256_and_si256(u, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

__m256 MaybeRound(__m256 x, bool round) { return round ? RoundBf16V(x) : x; }

void Gemm(const float* a, int64_t lda, int m, const Panels& b, float* c, int64_t ldc) {
  // Panel by panel as on AVX-512; within a panel, 16 columns at a time (two ymm of B per k).
  for (int col0 = 0; col0 < b.n; col0 += b.width) {
    const float* panel = b.data + (col0 / b.width) * b.panel_stride;
    const int panel_cols = std::min(b.width, b.n - col0);
    for (int j = 0; j < panel_cols; j += 16) {
      const int cols = std::min(16, panel_cols - j);
      for (int i = 0; i < m; i += kRows) {
        const int rows = std::min(kRows, m - i);
        const float* ai = a + i * lda;
        float* ci = c + i * ldc + col0 + j;
        if (cols > 8) {
          KernelF32Rows<kRows, 2>(rows, b.k, ai, lda, panel + j, b.width, ci, ldc, cols);
        } else {
          KernelF32Rows<kRows, 1>(rows, b.k, ai, lda, panel + j, b.width, ci, ldc, cols);
        }
      }
    }
  }
}

void RoundBf16Inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int m = static_cast<int>(std::min<int64_t>(8, n - i));
    StoreN(x + i, RoundBf16V(LoadN(x + i, m)), m);
  }
}

void Add(const float* a, const float* b, float* out, int64_t n, bool round) {
  for (int64_t i = 0; i < n; i += 8) {
    const int m = static_cast<int>(std::min<int64_t>(8, n - i));
    StoreN(out + i, MaybeRound(_mm256_add_ps(LoadN(a + i, m), LoadN(b + i, m)), round), m);
  }
}

void AddRmsNorm(float* x, int64_t ldx, const float* r, int64_t ldr, int rows, int cols, float eps,
                bool round) {
  for (int i = 0; i < rows; ++i) {
    float* xi = x + i * ldx;
    const float* ri = r + i * ldr;
    __m256 ss = _mm256_setzero_ps();
    for (int j = 0; j < cols; j += 8) {
      const __m256 s =
          MaybeRound(_mm256_add_ps(LoadN(xi + j, cols - j), LoadN(ri + j, cols - j)), round);
      ss = _mm256_fmadd_ps(s, s, ss);
      StoreN(xi + j, s, cols - j);
    }
    const __m256 scale =
        _mm256_set1_ps(1.0f / std::sqrt(ReduceAdd(ss) / static_cast<float>(cols) + eps));
    for (int j = 0; j < cols; j += 8) {
      StoreN(xi + j, MaybeRound(_mm256_mul_ps(LoadN(xi + j, cols - j), scale), round), cols - j);
    }
  }
}

void SwiGlu(const float* gu, int64_t ldg, int rows, int inner, float* out, int64_t ldo,
            bool round) {
  const __m256 one = _mm256_set1_ps(1.0f), minus_log2e = _mm256_set1_ps(-kLog2e);
  for (int i = 0; i < rows; ++i) {
    const float* g = gu + i * ldg;
    const float* u = g + inner;
    float* o = out + i * ldo;
    for (int j = 0; j < inner; j += 8) {
      const __m256 gv = LoadN(g + j, inner - j);
      const __m256 silu =
          _mm256_div_ps(gv, _mm256_add_ps(one, Exp2(_mm256_mul_ps(gv, minus_log2e))));
      const __m256 prod = _mm256_mul_ps(MaybeRound(silu, round), LoadN(u + j, inner - j));
      StoreN(o + j, MaybeRound(prod, round), inner - j);
    }
  }
}

void SoftmaxRows(float* x, int64_t ldx, int rows, int cols, float* inv_sum) {
  // Four independent exp chains per iteration, as on AVX-512.
  const int full = cols / 8 * 8;
  const int tail = cols - full;
  // Every row's maximum first (kept in inv_sum), as on AVX-512.
  for (int i = 0; i < rows; ++i) {
    const float* xi = x + i * ldx;
    __m256 m[4];
    for (__m256& v : m) v = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 32 <= full; j += 32) {
      for (int u = 0; u < 4; ++u) m[u] = _mm256_max_ps(m[u], _mm256_loadu_ps(xi + j + 8 * u));
    }
    for (; j < full; j += 8) m[0] = _mm256_max_ps(m[0], _mm256_loadu_ps(xi + j));
    float row_max = ReduceMax(_mm256_max_ps(_mm256_max_ps(m[0], m[1]), _mm256_max_ps(m[2], m[3])));
    for (int t = full; t < cols; ++t) row_max = std::max(row_max, xi[t]);
    inv_sum[i] = row_max;
  }
  for (int i = 0; i < rows; ++i) {
    float* xi = x + i * ldx;
    const __m256 max_log2e = _mm256_set1_ps(inv_sum[i] * kLog2e);
    __m256 sum[4];
    for (__m256& v : sum) v = _mm256_setzero_ps();
    int j = 0;
    for (; j + 32 <= full; j += 32) {
      for (int u = 0; u < 4; ++u) {
        const __m256 e = ExpBelow(_mm256_loadu_ps(xi + j + 8 * u), max_log2e);
        sum[u] = _mm256_add_ps(sum[u], e);
        _mm256_storeu_ps(xi + j + 8 * u, e);
      }
    }
    for (; j < full; j += 8) {
      const __m256 e = ExpBelow(_mm256_loadu_ps(xi + j), max_log2e);
      sum[0] = _mm256_add_ps(sum[0], e);
      _mm256_storeu_ps(xi + j, e);
    }
    if (tail > 0) {
      const __m256 keep = _mm256_castsi256_ps(TailMask(tail));
      const __m256 e = _mm256_and_ps(keep, ExpBelow(LoadN(xi + full, tail), max_log2e));
      sum[1] = _mm256_add_ps(sum[1], e);
      StoreN(xi + full, e, tail);
    }
    inv_sum[i] = 1.0f / ReduceAdd(_mm256_add_ps(_mm256_add_ps(sum[0], sum[1]),
                                                _mm256_add_ps(sum[2], sum[3])));
  }
}

void ScaleRows(float* x, int64_t ldx, int rows, int cols, const float* s) {
  for (int i = 0; i < rows; ++i) {
    float* xi = x + i * ldx;
    const __m256 sv = _mm256_set1_ps(s[i]);
    for (int j = 0; j < cols; j += 8) {
      StoreN(xi + j, _mm256_mul_ps(LoadN(xi + j, cols - j), sv), cols - j);
    }
  }
}

void Rotary(const float* x, const float* cos, const float* sin, int dim, int heads, float scale,
            bool round, float* out) {
  const int half = dim / 2;
  const __m256 sc = _mm256_set1_ps(scale);
  for (int h = 0; h < heads; ++h) {
    const float* xh = x + int64_t{h} * dim;
    float* oh = out + int64_t{h} * dim;
    for (int j = 0; j < half; j += 8) {
      const int n = half - j;
      const __m256 lo = LoadN(xh + j, n);
      const __m256 hi = LoadN(xh + half + j, n);
      // rotate_half(x) = cat(-x[half:], x[:half]).
      const __m256 out_lo =
          _mm256_fnmadd_ps(hi, LoadN(sin + j, n), _mm256_mul_ps(lo, LoadN(cos + j, n)));
      const __m256 out_hi = _mm256_fmadd_ps(lo, LoadN(sin + half + j, n),
                                            _mm256_mul_ps(hi, LoadN(cos + half + j, n)));
      StoreN(oh + j, _mm256_mul_ps(MaybeRound(out_lo, round), sc), n);
      StoreN(oh + half + j, _mm256_mul_ps(MaybeRound(out_hi, round), sc), n);
    }
  }
}

}  // namespace

const Kernels& Avx2Kernels() {
  static const Kernels kAvx2 = {Isa::kAvx2, Gemm,   nullptr,     RoundBf16Inplace, Add,
                                AddRmsNorm, SwiGlu, SoftmaxRows, ScaleRows,        Rotary};
  return kAvx2;
}

}  // namespace trm::model::fast
#pragma GCC pop_options
