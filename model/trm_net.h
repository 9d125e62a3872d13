// TrmNet: the Tiny Recursive Model network in libtorch, exactly as the official
// implementation defines it (models/recursive_reasoning/trm.py and models/layers.py of
// SamsungSAILMontreal/TinyRecursiveModels). Parameter and buffer names follow the official
// state dict ("inner.L_level.layers.0.self_attn.qkv_proj.weight", ...), so a checkpoint maps
// onto named_parameters() / named_buffers() one to one.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "model/config.h"

namespace trm::model {

// The recursion state of a batch: the answer z_H (y) and the latent z_L (z), both
// [batch, FullSeqLen, hidden] in the forward dtype.
struct Carry {
  torch::Tensor z_h;
  torch::Tensor z_l;
};

// What one ACT step produces besides the new carry.
struct StepOutputs {
  torch::Tensor logits;      // [batch, seq_len, vocab] float32 (puzzle prefix dropped).
  torch::Tensor q_halt;      // [batch] float32.
  torch::Tensor q_continue;  // [batch] float32.
};

// How ActStep computes on the CPU when no gradient is recorded (serving, evaluation).
enum class CpuKernels {
  // The fastest kernels of model/fast_step.h this CPU has: AVX-512 (bfloat16 models dot
  // bfloat16 pairs where it also has AVX512_BF16), else AVX2 + FMA, else kReference.
  kAuto,
  kAvx512,  // The AVX-512 kernels; the CPU must have them (CheckCpuKernels).
  kAvx2,    // The AVX2 + FMA kernels, also on a CPU with AVX-512 (tests, benchmarks).
  // libtorch ops, one per official op: the reference the fast paths are tested against, and the
  // path with autograd, off the CPU, and on CPUs with neither instruction set.
  kReference,
  // kAvx512 without bfloat16 dot instructions, as on AVX-512 CPUs without AVX512_BF16 (tests).
  kAvx512NoBf16Dot,
};
// "auto" | "avx512" | "avx2" | "reference" | "avx512_no_bf16_dot" (and the earlier names "fast"
// for auto, "fast_no_bf16_dot"); an error names the value and the choices.
absl::StatusOr<CpuKernels> ParseCpuKernels(const std::string& name);
// OK when this CPU can run `kernels`; else an error naming what it lacks (a forced instruction
// set the CPU does not have is refused up front, never an illegal instruction later).
absl::Status CheckCpuKernels(CpuKernels kernels);
// What a CPU model's steps run on with `kernels` here, for logs and ListModels: "avx512_bf16"
// (AVX-512 with bfloat16 dot products, bfloat16 models only), "avx512", "avx2" or "reference".
std::string CpuKernelsInUse(CpuKernels kernels, bool bf16_model);

class TrmInnerImpl;
class FastNet;
namespace fast {
struct StepProfile;
}

class TrmNetImpl : public torch::nn::Module {
 public:
  // Builds the network with the official initialisation (truncated LeCun normal, zero
  // puzzle embeddings, q_head weight 0 and bias -5), seeded from torch's global generator.
  explicit TrmNetImpl(const TrmConfig& config);

  const TrmConfig& config() const { return config_; }
  torch::ScalarType forward_dtype() const { return forward_dtype_; }

  // A carry for `batch` rows, every row at H_init / L_init, on the module's device.
  Carry InitialCarry(int64_t batch);
  // Rows where `reset` ([batch] bool) is true go back to H_init / L_init; the others keep
  // theirs (official reset_carry).
  Carry ResetCarry(const Carry& carry, const torch::Tensor& reset);
  // The same in place for the contiguous rows [begin, begin + count): what a server's fixed batch
  // slots need when new requests take them.
  void ResetCarryRows(Carry& carry, int64_t begin, int64_t count);

  // One ACT step (official Inner.forward): H_cycles cycles, each L_cycles updates
  // z_L <- net(z_L, z_H + x) then z_H <- net(z_H, z_L). When grad mode is on, only the last
  // cycle records gradients, as in the official code. inputs: [batch, seq_len] integer
  // tokens; puzzle_ids: [batch] integer.
  std::pair<Carry, StepOutputs> ActStep(const Carry& carry, const torch::Tensor& inputs,
                                        const torch::Tensor& puzzle_ids);

  // ActStep in place, for a caller that keeps its batch in preallocated tensors (fixed slots,
  // rows [0, n) of each): `carry` ([n, FullSeqLen, hidden] in the forward dtype) is overwritten
  // with the new carry, and each tensor of `out` that is defined with its ActStep shape
  // (logits [n, seq_len, vocab], q_halt and q_continue [n], float32) is written rather than
  // allocated (others are assigned new tensors). On the fast CPU path with contiguous float32
  // tensors a step allocates only its input embeddings; elsewhere it runs ActStep and copies.
  void ActStepInto(Carry& carry, const torch::Tensor& inputs, const torch::Tensor& puzzle_ids,
                   StepOutputs& out);

  // Default kAuto. Takes effect at the next step.
  void set_cpu_kernels(CpuKernels kernels);
  CpuKernels cpu_kernels() const;
  // While set, every step on the fast kernels adds its time per op to `profile` (the caller's,
  // alive until it is unset; read it after unsetting, which waits for a running step).
  void set_step_profile(fast::StepProfile* profile);
  // Whether the last ActStep ran on the fast kernels.
  bool last_step_fast() const;

  // The input embedding x = scale * (tokens (+ puzzle prefix) (+ learned positions)).
  torch::Tensor InputEmbeddings(const torch::Tensor& inputs, const torch::Tensor& puzzle_ids);

  // Sub-modules, registered as "inner" so names match the official state dict.
  std::shared_ptr<TrmInnerImpl> inner() const { return inner_; }

 private:
  TrmConfig config_;
  torch::ScalarType forward_dtype_;
  std::shared_ptr<TrmInnerImpl> inner_;

  // The fast path's packed weights and buffers (model/fast_net.h), built at the first step
  // that can use them.
  struct FastState;
  std::shared_ptr<FastState> fast_;
  std::pair<Carry, StepOutputs> ReferenceActStep(const Carry& carry, const torch::Tensor& inputs,
                                                 const torch::Tensor& puzzle_ids);
  // The fast path when it applies (no autograd, CPU, AVX-512), built or repacked as needed;
  // null when the step must take the reference path. Caller holds fast_->mu.
  FastNet* FastPathLocked();
};
TORCH_MODULE(TrmNet);

}  // namespace trm::model
