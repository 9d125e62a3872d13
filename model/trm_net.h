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

// The in-place rule for a step's outputs (StepRunner::ActStepInto): `into` is written when it
// already has value's shape and dtype (the caller's preallocated tensor, or a view of one), else
// it becomes `value`.
void StoreOutput(torch::Tensor& into, const torch::Tensor& value);

class TrmInnerImpl;

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

  // One ACT step (official Inner.forward) in libtorch ops, the reference: H_cycles cycles, each
  // L_cycles updates z_L <- net(z_L, z_H + x) then z_H <- net(z_H, z_L). When grad mode is on,
  // only the last cycle records gradients, as in the official code. inputs: [batch, seq_len]
  // integer tokens; puzzle_ids: [batch] integer. Serving and evaluation run steps through a
  // model/step_runner.h, which picks this or the fused CPU kernels.
  std::pair<Carry, StepOutputs> ActStep(const Carry& carry, const torch::Tensor& inputs,
                                        const torch::Tensor& puzzle_ids);

  // The input embedding x = scale * (tokens (+ puzzle prefix) (+ learned positions)).
  torch::Tensor InputEmbeddings(const torch::Tensor& inputs, const torch::Tensor& puzzle_ids);

  // Sub-modules, registered as "inner" so names match the official state dict.
  std::shared_ptr<TrmInnerImpl> inner() const { return inner_; }

 private:
  TrmConfig config_;
  torch::ScalarType forward_dtype_;
  std::shared_ptr<TrmInnerImpl> inner_;
};
TORCH_MODULE(TrmNet);

}  // namespace trm::model
