#include "model/step_runner.h"

#include <mutex>

#include "model/fast_net.h"

namespace trm::model {
namespace {

class ReferenceRunner final : public StepRunner {
 public:
  explicit ReferenceRunner(TrmNet net) : net_(std::move(net)) {}

  void ActStepInto(Carry& carry, const torch::Tensor& inputs, const torch::Tensor& puzzle_ids,
                   StepOutputs& out) override {
    auto [next, o] = net_->ActStep(carry, inputs, puzzle_ids);
    carry.z_h.copy_(next.z_h);
    carry.z_l.copy_(next.z_l);
    StoreOutput(out.logits, o.logits);
    StoreOutput(out.q_halt, o.q_halt);
    StoreOutput(out.q_continue, o.q_continue);
  }
  std::pair<Carry, StepOutputs> ActStep(const Carry& carry, const torch::Tensor& inputs,
                                        const torch::Tensor& puzzle_ids) override {
    return net_->ActStep(carry, inputs, puzzle_ids);
  }
  std::string kernels_in_use() const override { return "reference"; }
  bool last_step_fast() const override { return false; }
  void set_step_profile(fast::StepProfile*) override {}

 private:
  TrmNet net_;
};

// The fused kernels without autograd; with grad mode on (a training step) the reference. The
// packed weights follow the network's: a step after they changed (training between
// evaluations) repacks first.
class FastRunner final : public StepRunner {
 public:
  FastRunner(TrmNet net, CpuKernels kernels, std::unique_ptr<FastNet> fast)
      : net_(std::move(net)),
        kernels_(kernels),
        in_use_(CpuKernelsInUse(kernels, net_->forward_dtype() == torch::kBFloat16)),
        fast_(std::move(fast)),
        reference_(net_) {}

  void ActStepInto(Carry& carry, const torch::Tensor& inputs, const torch::Tensor& puzzle_ids,
                   StepOutputs& out) override {
    // A mutex because a step writes the packed step's buffers, and set_step_profile must wait
    // for a running step.
    std::lock_guard<std::mutex> lock(mu_);
    if (FastNet* fast = FastLocked()) {
      return fast->ActStepInto(*net_, carry, inputs, puzzle_ids, out, at::get_num_threads(),
                               profile_);
    }
    reference_.ActStepInto(carry, inputs, puzzle_ids, out);
  }
  std::pair<Carry, StepOutputs> ActStep(const Carry& carry, const torch::Tensor& inputs,
                                        const torch::Tensor& puzzle_ids) override {
    if (!torch::GradMode::is_enabled()) return StepRunner::ActStep(carry, inputs, puzzle_ids);
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_fast_ = false;
    }
    return reference_.ActStep(carry, inputs, puzzle_ids);  // Gradients need the reference.
  }
  std::string kernels_in_use() const override { return in_use_; }
  bool last_step_fast() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return last_fast_;
  }
  void set_step_profile(fast::StepProfile* profile) override {
    std::lock_guard<std::mutex> lock(mu_);
    profile_ = profile;
  }

 private:
  // The packed step for this step, repacked if the weights changed; null when the step must take
  // the reference (grad mode on, or the weights moved off the CPU).
  FastNet* FastLocked() {
    last_fast_ = false;
    if (torch::GradMode::is_enabled()) return nullptr;
    if (!fast_ || !fast_->UpToDate(*net_)) fast_ = FastNet::Create(*net_, kernels_);
    last_fast_ = fast_ != nullptr;
    return fast_.get();
  }

  TrmNet net_;  // A handle; the network itself is shared with its owner.
  const CpuKernels kernels_;
  const std::string in_use_;
  mutable std::mutex mu_;
  std::unique_ptr<FastNet> fast_;
  bool last_fast_ = false;
  fast::StepProfile* profile_ = nullptr;
  ReferenceRunner reference_;
};

}  // namespace

std::pair<Carry, StepOutputs> StepRunner::ActStep(const Carry& carry, const torch::Tensor& inputs,
                                                  const torch::Tensor& puzzle_ids) {
  // The new carry starts as a copy that the step updates in place.
  Carry next{carry.z_h.clone(torch::MemoryFormat::Contiguous),
             carry.z_l.clone(torch::MemoryFormat::Contiguous)};
  StepOutputs out;
  ActStepInto(next, inputs, puzzle_ids, out);
  return {std::move(next), std::move(out)};
}

std::unique_ptr<StepRunner> MakeStepRunner(TrmNet net, CpuKernels kernels) {
  if (std::unique_ptr<FastNet> fast = FastNet::Create(*net, kernels)) {
    return std::make_unique<FastRunner>(std::move(net), kernels, std::move(fast));
  }
  return std::make_unique<ReferenceRunner>(std::move(net));
}

}  // namespace trm::model
