#include "model/step_profile.h"

namespace trm::model::fast {

const char* StepOpName(StepOp op) {
  switch (op) {
    case StepOp::kInject:
      return "injection add";
    case StepOp::kQkv:
      return "qkv projection";
    case StepOp::kRotary:
      return "RoPE, k/v panels";
    case StepOp::kScores:
      return "attention q k^T";
    case StepOp::kSoftmax:
      return "attention softmax";
    case StepOp::kValues:
      return "attention p v";
    case StepOp::kOutProj:
      return "o projection";
    case StepOp::kAddNorm:
      return "residual add + RMSNorm";
    case StepOp::kGateUp:
      return "MLP gate/up";
    case StepOp::kSwiGlu:
      return "SwiGLU";
    case StepOp::kDown:
      return "MLP down";
    case StepOp::kMixTranspose:
      return "mlp_t transposes";
    case StepOp::kMixGateUp:
      return "mlp_t gate/up";
    case StepOp::kMixDown:
      return "mlp_t down";
    case StepOp::kHeads:
      return "lm_head, q_head";
    case StepOp::kBarrier:
      return "barrier wait";
    case StepOp::kCount:
      break;
  }
  return "?";
}

void StepProfile::Add(const StepProfile& other) {
  for (int i = 0; i < kStepOpCount; ++i) {
    seconds[i] += other.seconds[i];
    flops[i] += other.flops[i];
    calls[i] += other.calls[i];
  }
  step_seconds += other.step_seconds;
  thread_seconds += other.thread_seconds;
  steps += other.steps;
}

}  // namespace trm::model::fast
