// StepProfile: where the fast CPU step (model/fast_step.h) spends its time, op by op, for
// `trm-bench --mode=profile`. Off unless a caller attaches one (TrmNetImpl::set_step_profile);
// then every op of every thread adds its time and floating-point operations. Plain C++.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace trm::model::fast {

enum class StepOp : int {
  kInject,        // z + injection adds at the start of every level
  kQkv,           // attention's q, k, v projection
  kRotary,        // RoPE with the attention scale, keys and values into their panels
  kScores,        // attention q k^T per head
  kSoftmax,       // attention softmax per head
  kValues,        // attention p v per head, with the softmax's 1/sum
  kOutProj,       // attention's o projection
  kAddNorm,       // residual add fused with RMSNorm
  kGateUp,        // MLP gate and up projection
  kSwiGlu,        // silu(gate) * up
  kDown,          // MLP down projection
  kMixTranspose,  // mlp_t: rows to channels and back
  kMixGateUp,     // mlp_t: gate and up projection across the sequence
  kMixDown,       // mlp_t: down projection across the sequence
  kHeads,         // lm_head and q_head
  kBarrier,       // waiting for the other threads at a barrier
  kCount,
};
constexpr int kStepOpCount = static_cast<int>(StepOp::kCount);
const char* StepOpName(StepOp op);

struct StepProfile {
  std::array<double, kStepOpCount> seconds{};  // summed over threads
  std::array<double, kStepOpCount> flops{};    // multiply-add = 2
  std::array<int64_t, kStepOpCount> calls{};
  double step_seconds = 0;    // wall time of the profiled steps, fork and join included
  double thread_seconds = 0;  // step_seconds times the team's size: what the ops can account for
  int64_t steps = 0;

  void Add(const StepProfile& other);
};

// Times one op into `profile` (null: does nothing, the cost of one branch).
class OpTimer {
 public:
  OpTimer(StepProfile* profile, StepOp op, double flops = 0) : profile_(profile) {
    if (profile_ == nullptr) return;
    op_ = static_cast<int>(op);
    flops_ = flops;
    start_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (profile_ == nullptr) return;
    profile_->seconds[op_] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    profile_->flops[op_] += flops_;
    ++profile_->calls[op_];
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  StepProfile* profile_;
  int op_ = 0;
  double flops_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace trm::model::fast
