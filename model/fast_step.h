// FastStep: one ACT step of a TRM on the CPU, written out over the kernels of
// model/fast_kernels.h instead of one libtorch op at a time. Same maths as TrmNet::ActStep
// (official Inner.forward: H_cycles cycles of L_cycles z_L updates and one z_H update, every
// update a pass through the L_layers post-norm blocks), but
//  - weights are packed once into the kernels' panel layout;
//  - activations live in buffers allocated for the largest batch seen, reused every step;
//  - the elementwise work is fused into passes over row tiles still in cache (residual add with
//    RMSNorm, SwiGLU, RoPE with the attention scale), and attention runs per puzzle and head
//    over keys and values laid out for the GEMM;
//  - one OpenMP team runs the whole step: each thread owns a contiguous range of the batch's
//    rows and carries them through every op, meeting the others at one barrier per block
//    (before attention reads every row's keys; mlp_t blocks need two, their mixing runs across
//    the sequence per hidden channel), a spinning one (model/spin_barrier.h).
// bfloat16 models round to bfloat16 wherever the official bfloat16 forward does (every op's
// output), in float32 buffers; their GEMMs use vdpbf16ps where the CPU has AVX512_BF16.
// The kernels are AVX-512's or AVX2's (model/fast_kernels.h), chosen when the step is made.
// Torch-free: model/fast_net.h feeds it from TrmNet's tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/fast_kernels.h"
#include "model/spin_barrier.h"
#include "model/step_profile.h"

namespace trm::model::fast {

// The network's weights in the kernels' formats, keyed as the official state dict.
struct BlockWeights {
  PackedWeight qkv, o;                     // self_attn (absent with mlp_t).
  PackedWeight mlp_t_gate_up, mlp_t_down;  // mlp_t (across the sequence).
  PackedWeight gate_up, down;              // mlp.
};
struct NetWeights {
  std::vector<BlockWeights> blocks;
  PackedWeight lm_head, q_head;
  float q_bias[2] = {0, 0};
  std::vector<float> cos, sin;  // RoPE tables [FullSeqLen, head_dim]; empty without RoPE.
};

class FastStep {
 public:
  // bf16_math: round as the official bfloat16 forward does; weights must then be packed as
  // kBfloat16Values or kBfloat16Pairs (the latter only on kAvx512 where the CPU has
  // AVX512_BF16). isa: the kernels it runs on (the CPU must have them: CpuHas).
  FastStep(const TrmConfig& config, NetWeights weights, bool bf16_math, Isa isa);
  ~FastStep();

  // One ACT step for n puzzles. z_h, z_l: [n, FullSeqLen, hidden] float32, updated in place;
  // x: the input embeddings, same shape. Writes logits [n, seq_len, vocab] (puzzle prefix
  // dropped) and q [n, 2] (halt, continue). threads: the OpenMP team size (>= 1). profile:
  // when not null, the step's time per op is added to it.
  void Run(int n, float* z_h, float* z_l, const float* x, float* logits, float* q, int threads,
           StepProfile* profile = nullptr);

  // Floating-point operations of one step for one puzzle (multiply-add = 2), for GFLOP/s.
  static double FlopsPerPuzzle(const TrmConfig& config);

 private:
  struct ThreadBuffers;
  void Reserve(int n, int threads);
  void RunThread(int t, int threads, int n, float* z_h, float* z_l, const float* x, float* logits,
                 float* q);
  // c = a w^T, rounded to bfloat16 when `round`; timed as `op`.
  void Linear(StepOp op, const float* a, int64_t lda, int m, const PackedWeight& w, float* c,
              int64_t ldc, ThreadBuffers& tb, bool round) const;
  // This thread's profile while Run profiles, else null.
  StepProfile* Prof(ThreadBuffers& tb) const;
  // Waits for the team's other threads (SpinBarrier, not libgomp's: see model/spin_barrier.h).
  void Barrier(ThreadBuffers& tb, int threads);
  void Inject(ThreadBuffers& tb, int64_t r0, int64_t r1, float* hidden, const float* a,
              const float* b) const;
  float eps() const { return static_cast<float>(config_.rms_norm_eps); }
  void AttentionBlock(int t, int threads, int64_t r0, int64_t r1, float* h, const BlockWeights& w,
                      int parity);
  void MlpTBlock(int t, int threads, int n, int64_t r0, int64_t r1, float* h,
                 const BlockWeights& w);
  void Mlp(ThreadBuffers& tb, float* h, int rows, const BlockWeights& w) const;
  void Heads(int t, int64_t r0, int64_t r1, const float* z_h, float* logits, float* q);

  TrmConfig config_;
  NetWeights w_;
  bool bf16_math_;
  const Kernels& k_;
  int seq_ = 0, hidden_ = 0, heads_ = 0, head_dim_ = 0, prefix_ = 0, inner_ = 0, inner_t_ = 0;
  int tile_rows_ = 0;
  // Attention keys (transposed into GEMM panels) and values per (parity, puzzle, head); two
  // copies so the next block's projections may start while another thread still reads these.
  int key_panels_ = 0, value_width_ = 0, value_panels_ = 0;
  int64_t key_stride_ = 0, value_stride_ = 0;  // floats per (puzzle, head)
  AlignedArray<float> keys_, values_, queries_;
  int capacity_ = 0;
  std::vector<ThreadBuffers> threads_;
  bool profiling_ = false;  // set by Run for its step
  SpinBarrier barrier_;
};

}  // namespace trm::model::fast
