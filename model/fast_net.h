// FastNet: TrmNet's ACT step on the fused CPU kernels of model/fast_step.h. It packs the
// module's weights once, checks before every step that they have not changed since (training
// updates them in place between evaluations; a changed weight repacks), and moves tensors in and
// out. TrmNet::ActStep uses it on the CPU when no gradient is recorded.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <utility>
#include <vector>

#include "model/fast_step.h"
#include "model/trm_net.h"

namespace trm::model {

class FastNet {
 public:
  // Null when the fast path cannot run this network here: a CPU without AVX-512, weights off
  // the CPU, or kernels == kReference.
  static std::unique_ptr<FastNet> Create(TrmNetImpl& net, CpuKernels kernels);

  // Whether every parameter and buffer is still the tensor, at the version, it was packed from.
  bool UpToDate(TrmNetImpl& net) const;

  // TrmNet::ActStep's contract: a new carry and the step's outputs. The carry must be
  // [n, FullSeqLen, hidden] on the CPU. `threads`: the OpenMP team (torch's intra-op count).
  std::pair<Carry, StepOutputs> ActStep(TrmNetImpl& net, const Carry& carry,
                                        const torch::Tensor& inputs,
                                        const torch::Tensor& puzzle_ids, int threads);

  // The weights' format: float32, bfloat16 values in float32 dots, or bfloat16 pairs.
  fast::PackedWeight::Format format() const { return format_; }

 private:
  struct Stamp {
    const void* data;
    int64_t version;
  };
  static std::vector<Stamp> Stamps(TrmNetImpl& net);

  std::vector<Stamp> stamps_;
  fast::PackedWeight::Format format_ = fast::PackedWeight::Format::kFloat32;
  std::unique_ptr<fast::FastStep> step_;
};

}  // namespace trm::model
