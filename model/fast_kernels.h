// The CPU kernels of the fast ACT step (model/fast_step.h): matrix products against weights
// packed once, in float32 or with bfloat16 dot products, and the elementwise passes the network
// fuses around them (residual add + RMSNorm, SwiGLU, RoPE, softmax). Raw pointers, no torch.
//
// Everything declared in namespace avx512 is compiled for AVX-512 (F, BW, VL, DQ; the bf16 GEMM
// also for AVX512_BF16), everything in namespace avx2 for AVX2 and FMA (fast_kernels_avx2.cc),
// with target attributes, so this file's callers stay portable: call them only when
// DetectCpuFeatures() says the CPU has the instructions. KernelsFor() picks one set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace trm::model::fast {

struct CpuFeatures {
  bool avx2 = false;         // AVX2 and FMA (and the OS saves the ymm registers).
  bool avx512 = false;       // AVX-512 F, BW, VL, DQ (and the OS saves their registers).
  bool avx512_bf16 = false;  // AVX512_BF16: vdpbf16ps, bfloat16 pairs dotted into float32.
};
CpuFeatures DetectCpuFeatures();

// The instruction sets the kernels are written for.
enum class Isa { kAvx2, kAvx512 };
const char* IsaName(Isa isa);  // "avx2", "avx512"
bool CpuHas(const CpuFeatures& cpu, Isa isa);

// A zero-filled array aligned to 64 bytes (one cache line, one zmm register).
template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  explicit AlignedArray(size_t n) : size_(n) {
    if (n == 0) return;
    const size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    data_.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    if (!data_) throw std::bad_alloc();
    for (size_t i = 0; i < n; ++i) data_[i] = T{};
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> data_;
  size_t size_ = 0;
};

// The right operand B (k x n) of C = A B, laid out for the micro-kernels in panels of `width`
// columns (a multiple of 16, at most 64): element (kk, col) is at
// data[(col / width) * panel_stride + kk * width + col % width]. Columns past n in the last
// panel are padding the kernels read but never store.
struct Panels {
  const float* data = nullptr;
  int k = 0;
  int n = 0;
  int width = 64;
  int64_t panel_stride = 0;
};

// The same for bfloat16 pairs: rows kk and kk + 1 (kk even) of a panel are interleaved, element
// (kk, col) at data[(col / 64) * panel_stride + (kk / 2) * 128 + (col % 64) * 2 + kk % 2]; k is
// padded to even with zeros. Width is always 64.
struct Bf16Panels {
  const uint16_t* data = nullptr;
  int k = 0;
  int n = 0;
  int64_t panel_stride = 0;
};

// A Linear's weight W [n, k] packed as the right operand of x W^T, in the format the step's
// precision uses. Packing happens once per set of weights.
class PackedWeight {
 public:
  enum class Format {
    kFloat32,         // float32 panels.
    kBfloat16Values,  // float32 panels of W rounded to bfloat16 (bfloat16 maths, float32 dots).
    kBfloat16Pairs,   // Bf16Panels for vdpbf16ps.
  };
  PackedWeight() = default;
  // w: row-major [n, k] with row stride ld (>= k).
  PackedWeight(const float* w, int64_t ld, int n, int k, Format format);

  int n() const { return n_; }
  int k() const { return k_; }
  Format format() const { return format_; }
  Panels f32() const;
  Bf16Panels bf16() const;

 private:
  int n_ = 0, k_ = 0;
  Format format_ = Format::kFloat32;
  AlignedArray<float> f32_;
  AlignedArray<uint16_t> bf16_;
};

// Round to nearest even at bfloat16 precision, kept in float32 (the official bfloat16 forward
// rounds every op's output; the fast path keeps float32 buffers rounded at the same points).
inline float RoundBf16(float x) {
  uint32_t u;
  __builtin_memcpy(&u, &x, 4);
  u += 0x7FFF + ((u >> 16) & 1);
  u &= 0xFFFF0000u;
  __builtin_memcpy(&x, &u, 4);
  return x;
}

namespace avx512 {

// C[i, 0:n] = A[i, 0:k] B for i < m (row strides lda, ldc in floats). Accumulates in float32.
void Gemm(const float* a, int64_t lda, int m, const Panels& b, float* c, int64_t ldc);

// The same with bfloat16 dot products: A is rounded to bfloat16 on the way in (scratch holds
// m * (k + 1) / 2 uint32 pairs), products are exact, sums float32. Needs AVX512_BF16.
void GemmBf16(const float* a, int64_t lda, int m, const Bf16Panels& b, float* c, int64_t ldc,
              uint32_t* scratch);

// x[i] = RoundBf16(x[i]) for i < n.
void RoundBf16Inplace(float* x, int64_t n);
// out[i] = a[i] + b[i] (rounded to bfloat16 when `round`).
void Add(const float* a, const float* b, float* out, int64_t n, bool round);
// Per row i < rows of width `cols`: x = x + r (rounded when `round`), then x = RMSNorm(x) (the
// official rms_norm: x * rsqrt(mean(x^2) + eps), rounded when `round`).
void AddRmsNorm(float* x, int64_t ldx, const float* r, int64_t ldr, int rows, int cols, float eps,
                bool round);
// Per row: out[j] = silu(gu[j]) * gu[inner + j] for j < inner (SwiGLU after the fused gate/up
// projection; bfloat16 rounds silu's output and the product, as the official ops do).
void SwiGlu(const float* gu, int64_t ldg, int rows, int inner, float* out, int64_t ldo, bool round);
// Row-wise softmax numerator in place: x[j] = exp(x[j] - max(x)) for j < cols; returns into
// inv_sum[i] the reciprocal of each row's sum (applied to the attention output afterwards).
void SoftmaxRows(float* x, int64_t ldx, int rows, int cols, float* inv_sum);
// x[i, j] *= s[i] for j < cols.
void ScaleRows(float* x, int64_t ldx, int rows, int cols, const float* s);
// RoPE on `heads` consecutive head vectors of `dim` (even) values at one position (official
// apply_rotary_pos_emb: x * cos + rotate_half(x) * sin, cos and sin [dim] for the position),
// rounded when `round`, then times `scale` (attention's 1/sqrt(head_dim), folded into the
// queries); written to out (may equal x).
void Rotary(const float* x, const float* cos, const float* sin, int dim, int heads, float scale,
            bool round, float* out);

}  // namespace avx512

// One instruction set's kernels, for the step to call through (signatures as above).
struct Kernels {
  Isa isa;
  decltype(&avx512::Gemm) gemm;
  decltype(&avx512::GemmBf16) gemm_bf16;  // Null on AVX2; used only with kBfloat16Pairs.
  decltype(&avx512::RoundBf16Inplace) round_bf16;
  decltype(&avx512::Add) add;
  decltype(&avx512::AddRmsNorm) add_rms_norm;
  decltype(&avx512::SwiGlu) swiglu;
  decltype(&avx512::SoftmaxRows) softmax_rows;
  decltype(&avx512::ScaleRows) scale_rows;
  decltype(&avx512::Rotary) rotary;
};
const Kernels& KernelsFor(Isa isa);
// The AVX2 + FMA set (fast_kernels_avx2.cc; no bfloat16 dot product, so gemm_bf16 is null and
// bfloat16 models use kBfloat16Values panels). KernelsFor(Isa::kAvx2) is this.
const Kernels& Avx2Kernels();

// exp as both sets compute it (the softmax's and SwiGLU's sigmoid), as 2^t with t = x log2(e).
inline constexpr float kLog2e = 1.44269504088896341f;
// t = floor(t) + f, and 2^f for 0 <= f < 1 is a degree-5 minimax polynomial for relative error
// (7.5e-8 in exact arithmetic, found by Remez exchange), from the highest power down (c5 first).
// The softmax's exp(x - max) is 2^t with t = x log2(e) - max log2(e) in one fused multiply-add:
// 9 operations on AVX-512 (Cephes' expf, which this replaced, took 16 with the subtraction),
// and its error is that of Cephes' path, 1-2 ulp plus the rounding of the argument (t here,
// x - max there), half an ulp, which grows with the distance from the row's maximum: at most
// 2e-7 + 7e-8 |x - max| relative (fast_kernels_test.cc checks it). The rounding of max log2(e)
// scales the whole row alike and cancels in the normalisation.
inline constexpr float kExp2Poly[6] = {1.877576695e-3f, 8.989339694e-3f, 5.582631752e-2f,
                                       2.401536107e-1f, 6.931530833e-1f, 9.999999404e-1f};

}  // namespace trm::model::fast
