// StepRunner: how a caller runs TrmNet's ACT steps, chosen once. Two runners share the one
// interface: the reference (TrmNet::ActStep: libtorch ops, autograd, any device) and the fast
// CPU one (model/fast_net.h: fused AVX-512 or AVX2 kernels, no autograd). The engine, trm-train's
// evaluation and trm-bench ask MakeStepRunner for the one --cpu_kernels names; the network itself
// knows nothing of the fast path.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>

#include "model/cpu_kernels.h"
#include "model/trm_net.h"

namespace trm::model {
namespace fast {
struct StepProfile;
}

class StepRunner {
 public:
  virtual ~StepRunner() = default;

  // One ACT step in place, for a caller that keeps its batch in preallocated tensors (fixed
  // slots, rows [0, n) of each): `carry` ([n, FullSeqLen, hidden] in the forward dtype) is
  // overwritten with the new carry, and each tensor of `out` that is defined with its step shape
  // (logits [n, seq_len, vocab], q_halt and q_continue [n], float32) is written rather than
  // allocated (others are assigned new tensors). On the fast CPU path with contiguous float32
  // tensors a step allocates only its input embeddings. One step at a time per runner.
  virtual void ActStepInto(Carry& carry, const torch::Tensor& inputs,
                           const torch::Tensor& puzzle_ids, StepOutputs& out) = 0;
  // The same, returning a new carry (`carry` is left as it was).
  virtual std::pair<Carry, StepOutputs> ActStep(const Carry& carry, const torch::Tensor& inputs,
                                                const torch::Tensor& puzzle_ids);

  // What the steps run on: "avx512_bf16", "avx512", "avx2" or "reference" (CpuKernelsInUse).
  virtual std::string kernels_in_use() const = 0;
  // Whether the last step ran on the fast kernels (a fast runner takes the reference while grad
  // mode is on, as training's steps need).
  virtual bool last_step_fast() const = 0;
  // While set, every step on the fast kernels adds its time per op to `profile` (the caller's,
  // alive until it is unset; unsetting waits for a running step). The reference ignores it.
  virtual void set_step_profile(fast::StepProfile* profile) = 0;
};

// The runner `kernels` picks for `net` as it is now (its device and dtype): the fast one when
// this CPU has the kernels and the weights are on the CPU, else the reference. Holds `net`; move
// the network before making its runner. `kernels` must have passed CheckCpuKernels (a CPU that
// lacks a forced set gets the reference).
std::unique_ptr<StepRunner> MakeStepRunner(TrmNet net, CpuKernels kernels = CpuKernels::kAuto);

}  // namespace trm::model
