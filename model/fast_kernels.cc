#include "model/fast_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

// GCC 12's AVX-512 intrinsics start from a self-initialised `__m512 __Y = __Y` (an undefined
// register by design), which -Wmaybe-uninitialized reports at every use once inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace trm::model::fast {

CpuFeatures DetectCpuFeatures() {
  __builtin_cpu_init();
  CpuFeatures f;
  // As for AVX-512, __builtin_cpu_supports("avx2") is false when the OS does not save the ymm
  // registers.
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // __builtin_cpu_supports also checks that the OS saves the AVX-512 register state (XCR0).
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma");
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
  return f;
}

const char* IsaName(Isa isa) { return isa == Isa::kAvx512 ? "avx512" : "avx2"; }

bool CpuHas(const CpuFeatures& cpu, Isa isa) { return isa == Isa::kAvx512 ? cpu.avx512 : cpu.avx2; }

const Kernels& KernelsFor(Isa isa) {
  static const Kernels kAvx512 = {
      Isa::kAvx512,      avx512::Gemm,       avx512::GemmBf16, avx512::RoundBf16Inplace,
      avx512::Add,       avx512::AddRmsNorm, avx512::SwiGlu,   avx512::SoftmaxRows,
      avx512::ScaleRows, avx512::Rotary};
  return isa == Isa::kAvx512 ? kAvx512 : Avx2Kernels();
}

namespace {
uint16_t Bf16Bits(float x) {
  uint32_t u;
  const float r = RoundBf16(x);
  std::memcpy(&u, &r, 4);
  return static_cast<uint16_t>(u >> 16);
}
}  // namespace

PackedWeight::PackedWeight(const float* w, int64_t ld, int n, int k, Format format)
    : n_(n), k_(k), format_(format) {
  const int64_t panels = (n + 63) / 64;
  if (format == Format::kBfloat16Pairs) {
    const int64_t kp = (k + 1) / 2;
    bf16_ = AlignedArray<uint16_t>(panels * kp * 128);
    uint16_t* out = bf16_.data();
    for (int col = 0; col < n; ++col) {
      uint16_t* panel = out + (col / 64) * kp * 128 + (col % 64) * 2;
      for (int kk = 0; kk < k; ++kk) panel[(kk / 2) * 128 + kk % 2] = Bf16Bits(w[col * ld + kk]);
    }
    return;
  }
  f32_ = AlignedArray<float>(panels * k * 64);
  float* out = f32_.data();
  const bool round = format == Format::kBfloat16Values;
  for (int col = 0; col < n; ++col) {
    float* panel = out + (col / 64) * int64_t{k} * 64 + col % 64;
    for (int kk = 0; kk < k; ++kk) {
      const float v = w[col * ld + kk];
      panel[kk * 64] = round ? RoundBf16(v) : v;
    }
  }
}

Panels PackedWeight::f32() const { return {f32_.data(), k_, n_, 64, int64_t{k_} * 64}; }

Bf16Panels PackedWeight::bf16() const {
  return {bf16_.data(), k_, n_, int64_t{(k_ + 1) / 2} * 128};
}

// ---------------------------------------------------------------------------------------------
// AVX-512 code. Every function from here to pop_options is compiled for these instructions.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")

namespace avx512 {
namespace {

__mmask16 TailMask(int n) {
  return n >= 16 ? 0xFFFF : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
}

// A block of MR x NV accumulators: zeroed, and stored to MR rows of C, the last vector of each
// row only in the columns of `mask`.
template <int MR, int NV>
inline void ZeroBlock(__m512 (&acc)[MR][NV]) {
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
}

template <int MR, int NV>
inline void StoreBlock(const __m512 (&acc)[MR][NV], float* c, int64_t ldc, __mmask16 mask) {
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV - 1; ++v) _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
    _mm512_mask_storeu_ps(c + r * ldc + 16 * (NV - 1), mask, acc[r][NV - 1]);
  }
}

// The register-blocked core of the GEMM: an MR x (16 NV) block of C from MR rows of A and one
// panel of B, k steps of broadcast-A-times-B-row fused multiply-adds.
template <int MR, int NV>
void KernelF32(int k, const float* a, int64_t lda, const float* b, int ldb, float* c, int64_t ldc,
               __mmask16 mask) {
  __m512 acc[MR][NV];
  ZeroBlock(acc);
  for (int kk = 0; kk < k; ++kk) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(b + kk * ldb + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + kk]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  StoreBlock(acc, c, ldc, mask);
}

// Rows per block by vectors per panel row: about 24 accumulators of the 32 zmm registers.
constexpr int MaxRows(int nv) { return nv <= 2 ? 12 : nv == 3 ? 8 : 6; }

// KernelF32<rows, NV> for a run-time rows <= MR.
template <int MR, int NV>
void KernelF32Rows(int rows, int k, const float* a, int64_t lda, const float* b, int ldb, float* c,
                   int64_t ldc, __mmask16 mask) {
  if constexpr (MR > 1) {
    if (rows < MR) return KernelF32Rows<MR - 1, NV>(rows, k, a, lda, b, ldb, c, ldc, mask);
  }
  KernelF32<MR, NV>(k, a, lda, b, ldb, c, ldc, mask);
}

template <int NV>
void GemmPanel(const float* a, int64_t lda, int m, int k, const float* b, int ldb, float* c,
               int64_t ldc, __mmask16 mask) {
  constexpr int mr = MaxRows(NV);
  for (int i = 0; i < m; i += mr) {
    KernelF32Rows<mr, NV>(std::min(mr, m - i), k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, mask);
  }
}

}  // namespace

void Gemm(const float* a, int64_t lda, int m, const Panels& b, float* c, int64_t ldc) {
  // Panels outermost: one panel of B (k x 64 floats: 32 KB at k = 128) stays in L1/L2 while
  // every row block of A streams past it.
  for (int col0 = 0; col0 < b.n; col0 += b.width) {
    const int cols = std::min(b.width, b.n - col0);
    const int nv = (cols + 15) / 16;
    const __mmask16 mask = TailMask(cols - 16 * (nv - 1));
    const float* panel = b.data + (col0 / b.width) * b.panel_stride;
    float* out = c + col0;
    switch (nv) {
      case 1:
        GemmPanel<1>(a, lda, m, b.k, panel, b.width, out, ldc, mask);
        break;
      case 2:
        GemmPanel<2>(a, lda, m, b.k, panel, b.width, out, ldc, mask);
        break;
      case 3:
        GemmPanel<3>(a, lda, m, b.k, panel, b.width, out, ldc, mask);
        break;
      default:
        GemmPanel<4>(a, lda, m, b.k, panel, b.width, out, ldc, mask);
        break;
    }
  }
}

namespace {

// 2^t for float32 lanes (kExp2Poly): vreduceps gives f = t - floor(t) in one instruction and
// scalef multiplies by 2^floor(t) (0 below 2^-149). The clamp keeps t = -inf from making f a NaN.
__m512 Exp2(__m512 t) {
  t = _mm512_max_ps(t, _mm512_set1_ps(-150.0f));
  const __m512 f = _mm512_reduce_ps(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 p = _mm512_set1_ps(kExp2Poly[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2Poly[i]));
  return _mm512_scalef_ps(p, t);
}

// exp(x - max) as 2^(x log2(e) - max_log2e), one fused multiply-add from x to t.
__m512 ExpBelow(__m512 x, __m512 max_log2e) {
  return Exp2(_mm512_fmsub_ps(x, _mm512_set1_ps(kLog2e), max_log2e));
}

// Round to nearest even at bfloat16 precision (RoundBf16 on 16 lanes).
__m512 RoundBf16V(__m512 x) {
  __m512i u = _mm512_castps_si512(x);
  const __m512i odd =
      _mm512_and_si512(_mm512_maskz_srli_epi32(0xFFFF, u, 16), _mm512_set1_epi32(1));
  u = _mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
  return _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

__m512 MaybeRound(__m512 x, bool round) { return round ? RoundBf16V(x) : x; }

}  // namespace

void RoundBf16Inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask(static_cast<int>(std::min<int64_t>(16, n - i)));
    _mm512_mask_storeu_ps(x + i, m, RoundBf16V(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

void Add(const float* a, const float* b, float* out, int64_t n, bool round) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask(static_cast<int>(std::min<int64_t>(16, n - i)));
    const __m512 s =
        _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    _mm512_mask_storeu_ps(out + i, m, MaybeRound(s, round));
  }
}

void AddRmsNorm(float* x, int64_t ldx, const float* r, int64_t ldr, int rows, int cols, float eps,
                bool round) {
  for (int i = 0; i < rows; ++i) {
    float* xi = x + i * ldx;
    const float* ri = r + i * ldr;
    __m512 ss = _mm512_setzero_ps();
    for (int j = 0; j < cols; j += 16) {
      const __mmask16 m = TailMask(cols - j);
      const __m512 s = MaybeRound(
          _mm512_add_ps(_mm512_maskz_loadu_ps(m, xi + j), _mm512_maskz_loadu_ps(m, ri + j)), round);
      ss = _mm512_fmadd_ps(s, s, ss);
      _mm512_mask_storeu_ps(xi + j, m, s);
    }
    const __m512 scale =
        _mm512_set1_ps(1.0f / std::sqrt(_mm512_reduce_add_ps(ss) / static_cast<float>(cols) + eps));
    for (int j = 0; j < cols; j += 16) {
      const __mmask16 m = TailMask(cols - j);
      _mm512_mask_storeu_ps(
          xi + j, m, MaybeRound(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, xi + j), scale), round));
    }
  }
}

void SwiGlu(const float* gu, int64_t ldg, int rows, int inner, float* out, int64_t ldo,
            bool round) {
  const __m512 one = _mm512_set1_ps(1.0f), minus_log2e = _mm512_set1_ps(-kLog2e);
  for (int i = 0; i < rows; ++i) {
    const float* g = gu + i * ldg;
    const float* u = g + inner;
    float* o = out + i * ldo;
    for (int j = 0; j < inner; j += 16) {
      const __mmask16 m = TailMask(inner - j);
      const __m512 gv = _mm512_maskz_loadu_ps(m, g + j);
      // silu(g) = g * sigmoid(g) = g / (1 + e^-g), e^-g = 2^(-g log2(e)).
      const __m512 silu =
          _mm512_div_ps(gv, _mm512_add_ps(one, Exp2(_mm512_mul_ps(gv, minus_log2e))));
      const __m512 prod = _mm512_mul_ps(MaybeRound(silu, round), _mm512_maskz_loadu_ps(m, u + j));
      _mm512_mask_storeu_ps(o + j, m, MaybeRound(prod, round));
    }
  }
}

void SoftmaxRows(float* x, int64_t ldx, int rows, int cols, float* inv_sum) {
  // Four vectors per iteration: exp is a chain of a dozen dependent operations, so independent
  // chains keep the FMA pipes busy (3x faster than one at a time on 916-wide rows).
  const int full = cols / 16 * 16;
  const __mmask16 tail = TailMask(cols - full);
  // Every row's maximum first (kept in inv_sum): a row's exponentials wait for its maximum's
  // reduction, and a whole row of them is more than the core reorders across, so finding the
  // maxima row by row in between stalled (1.17x faster so on 48 x 916 score tiles).
  for (int i = 0; i < rows; ++i) {
    const float* xi = x + i * ldx;
    __m512 m[4];
    for (__m512& v : m) v = _mm512_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 64 <= full; j += 64) {
      for (int u = 0; u < 4; ++u) m[u] = _mm512_max_ps(m[u], _mm512_loadu_ps(xi + j + 16 * u));
    }
    for (; j < full; j += 16) m[0] = _mm512_max_ps(m[0], _mm512_loadu_ps(xi + j));
    if (tail) m[1] = _mm512_mask_max_ps(m[1], tail, m[1], _mm512_maskz_loadu_ps(tail, xi + full));
    inv_sum[i] =
        _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m[0], m[1]), _mm512_max_ps(m[2], m[3])));
  }
  for (int i = 0; i < rows; ++i) {
    float* xi = x + i * ldx;
    const __m512 max_log2e = _mm512_set1_ps(inv_sum[i] * kLog2e);
    __m512 sum[4];
    for (__m512& v : sum) v = _mm512_setzero_ps();
    int j = 0;
    for (; j + 64 <= full; j += 64) {
      for (int u = 0; u < 4; ++u) {
        const __m512 e = ExpBelow(_mm512_loadu_ps(xi + j + 16 * u), max_log2e);
        sum[u] = _mm512_add_ps(sum[u], e);
        _mm512_storeu_ps(xi + j + 16 * u, e);
      }
    }
    for (; j < full; j += 16) {
      const __m512 e = ExpBelow(_mm512_loadu_ps(xi + j), max_log2e);
      sum[0] = _mm512_add_ps(sum[0], e);
      _mm512_storeu_ps(xi + j, e);
    }
    if (tail) {
      const __m512 e =
          _mm512_maskz_mov_ps(tail, ExpBelow(_mm512_maskz_loadu_ps(tail, xi + full), max_log2e));
      sum[1] = _mm512_add_ps(sum[1], e);
      _mm512_mask_storeu_ps(xi + full, tail, e);
    }
    inv_sum[i] = 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(sum[0], sum[1]),
                                                           _mm512_add_ps(sum[2], sum[3])));
  }
}

void ScaleRows(float* x, int64_t ldx, int rows, int cols, const float* s) {
  for (int i = 0; i < rows; ++i) {
    float* xi = x + i * ldx;
    const __m512 sv = _mm512_set1_ps(s[i]);
    for (int j = 0; j < cols; j += 16) {
      const __mmask16 m = TailMask(cols - j);
      _mm512_mask_storeu_ps(xi + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xi + j), sv));
    }
  }
}

void Rotary(const float* x, const float* cos, const float* sin, int dim, int heads, float scale,
            bool round, float* out) {
  const int half = dim / 2;
  const __m512 sc = _mm512_set1_ps(scale);
  if (dim == 16) {  // One head per register: rotate_half is a lane permutation.
    const __m512i swap = _mm512_set_epi32(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
    const __m512 c = _mm512_loadu_ps(cos);
    const __m512 s = _mm512_loadu_ps(sin);
    // rotate_half(x) = cat(-x[8:], x[:8]): the sign goes on sin's first half.
    const __m512 s_signed = _mm512_mask_sub_ps(s, 0x00FF, _mm512_setzero_ps(), s);
    for (int h = 0; h < heads; ++h) {
      const __m512 v = _mm512_loadu_ps(x + 16 * h);
      const __m512 r =
          _mm512_fmadd_ps(_mm512_permutexvar_ps(swap, v), s_signed, _mm512_mul_ps(v, c));
      _mm512_storeu_ps(out + 16 * h, _mm512_mul_ps(MaybeRound(r, round), sc));
    }
    return;
  }
  for (int h = 0; h < heads; ++h) {
    const float* xh = x + int64_t{h} * dim;
    float* oh = out + int64_t{h} * dim;
    for (int j = 0; j < half; j += 16) {
      const __mmask16 m = TailMask(half - j);
      const __m512 lo = _mm512_maskz_loadu_ps(m, xh + j);
      const __m512 hi = _mm512_maskz_loadu_ps(m, xh + half + j);
      // rotate_half(x) = cat(-x[half:], x[:half]).
      const __m512 out_lo = _mm512_fnmadd_ps(hi, _mm512_maskz_loadu_ps(m, sin + j),
                                             _mm512_mul_ps(lo, _mm512_maskz_loadu_ps(m, cos + j)));
      const __m512 out_hi =
          _mm512_fmadd_ps(lo, _mm512_maskz_loadu_ps(m, sin + half + j),
                          _mm512_mul_ps(hi, _mm512_maskz_loadu_ps(m, cos + half + j)));
      _mm512_mask_storeu_ps(oh + j, m, _mm512_mul_ps(MaybeRound(out_lo, round), sc));
      _mm512_mask_storeu_ps(oh + half + j, m, _mm512_mul_ps(MaybeRound(out_hi, round), sc));
    }
  }
}

}  // namespace avx512
#pragma GCC pop_options

// ---------------------------------------------------------------------------------------------
// AVX512_BF16: the GEMM on bfloat16 pairs.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx512bf16")

namespace avx512 {
namespace {

// KernelF32's structure on pairs: each vdpbf16ps adds a[2j] b[2j] + a[2j+1] b[2j+1] into 16
// float32 lanes, twice the work of an FMA per instruction.
template <int MR, int NV>
void KernelBf16(int kp, const uint32_t* a, int64_t lda, const uint16_t* b, float* c, int64_t ldc,
                __mmask16 mask) {
  __m512 acc[MR][NV];
  ZeroBlock(acc);
  for (int j = 0; j < kp; ++j) {
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_loadu_si512(b + j * 128 + 32 * v);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r * lda + j]));
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
  }
  StoreBlock(acc, c, ldc, mask);
}

template <int MR, int NV>
void KernelBf16Rows(int rows, int kp, const uint32_t* a, int64_t lda, const uint16_t* b, float* c,
                    int64_t ldc, __mmask16 mask) {
  if constexpr (MR > 1) {
    if (rows < MR) return KernelBf16Rows<MR - 1, NV>(rows, kp, a, lda, b, c, ldc, mask);
  }
  KernelBf16<MR, NV>(kp, a, lda, b, c, ldc, mask);
}

template <int NV>
void GemmBf16Panel(const uint32_t* a, int64_t lda, int m, int kp, const uint16_t* b, float* c,
                   int64_t ldc, __mmask16 mask) {
  constexpr int mr = MaxRows(NV);
  for (int i = 0; i < m; i += mr) {
    KernelBf16Rows<mr, NV>(std::min(mr, m - i), kp, a + i * lda, lda, b, c + i * ldc, ldc, mask);
  }
}

}  // namespace

void GemmBf16(const float* a, int64_t lda, int m, const Bf16Panels& b, float* c, int64_t ldc,
              uint32_t* scratch) {
  const int kp = (b.k + 1) / 2;
  // A to bfloat16 pairs, once for all panels. cvtne2ps_pbh(hi, lo) puts lo's 16 values first,
  // so 32 consecutive floats become 16 consecutive pairs.
  for (int i = 0; i < m; ++i) {
    const float* ai = a + i * lda;
    uint32_t* out = scratch + int64_t{i} * kp;
    for (int j = 0; j < b.k; j += 32) {
      const __m512 lo = _mm512_maskz_loadu_ps(TailMask(b.k - j), ai + j);
      const __m512 hi = j + 16 < b.k ? _mm512_maskz_loadu_ps(TailMask(b.k - j - 16), ai + j + 16)
                                     : _mm512_setzero_ps();
      const __m512i pairs = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
      const int n = std::min(16, (b.k - j + 1) / 2);
      _mm512_mask_storeu_epi32(out + j / 2, TailMask(n), pairs);
    }
  }
  for (int col0 = 0; col0 < b.n; col0 += 64) {
    const int cols = std::min(64, b.n - col0);
    const int nv = (cols + 15) / 16;
    const __mmask16 mask = TailMask(cols - 16 * (nv - 1));
    const uint16_t* panel = b.data + (col0 / 64) * b.panel_stride;
    float* out = c + col0;
    switch (nv) {
      case 1:
        GemmBf16Panel<1>(scratch, kp, m, kp, panel, out, ldc, mask);
        break;
      case 2:
        GemmBf16Panel<2>(scratch, kp, m, kp, panel, out, ldc, mask);
        break;
      case 3:
        GemmBf16Panel<3>(scratch, kp, m, kp, panel, out, ldc, mask);
        break;
      default:
        GemmBf16Panel<4>(scratch, kp, m, kp, panel, out, ldc, mask);
        break;
    }
  }
}

}  // namespace avx512
#pragma GCC pop_options

}  // namespace trm::model::fast
