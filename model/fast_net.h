// FastNet: TrmNet's ACT step on the fused CPU kernels of model/fast_step.h. It packs the
// module's weights once, says whether they have changed since (training updates them in place
// between evaluations), and moves tensors in and out. model/step_runner.h's fast runner steps
// through it, and repacks when the weights changed.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "model/cpu_kernels.h"
#include "model/fast_step.h"
#include "model/trm_net.h"

namespace trm::model {

class FastNet {
 public:
  // Null when the fast path cannot run this network here: no kernels for this CPU
  // (FastIsaFor), weights off the CPU, or kernels == kReference.
  static std::unique_ptr<FastNet> Create(TrmNetImpl& net, CpuKernels kernels);

  // Whether every parameter and buffer is still the tensor, at the version, it was packed from.
  bool UpToDate(TrmNetImpl& net) const;

  // StepRunner::ActStepInto's contract: the carry ([n, FullSeqLen, hidden] on the CPU) is updated
  // in place, `out`'s tensors are written when they have their shapes, else assigned.
  // `threads`: the OpenMP team (torch's intra-op count); `profile`: see FastStep::Run.
  void ActStepInto(TrmNetImpl& net, Carry& carry, const torch::Tensor& inputs,
                   const torch::Tensor& puzzle_ids, StepOutputs& out, int threads,
                   fast::StepProfile* profile);

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
