#include "model/trm_net.h"

#include <cmath>

#include "model/layers.h"

namespace trm::model {

// The shared stack of L_layers blocks (official ReasoningModule): the input injection is added
// once, then every block runs in turn.
class ReasoningModuleImpl : public torch::nn::Module {
 public:
  explicit ReasoningModuleImpl(const TrmConfig& config) {
    layers = register_module("layers", torch::nn::ModuleList());
    for (int i = 0; i < config.L_layers; ++i) {
      blocks.push_back(TrmBlock(config));
      layers->push_back(blocks.back());
    }
  }
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& injection,
                        const CosSin* cos_sin) {
    auto h = hidden + injection;
    for (auto& block : blocks) h = block->forward(h, cos_sin);
    return h;
  }

  torch::nn::ModuleList layers{nullptr};
  std::vector<TrmBlock> blocks;
};
TORCH_MODULE(ReasoningModule);

// The puzzle embedding table (official CastedSparseEmbedding "weights"). Registered as a
// parameter so the trainer can take its gradient; the trainer updates it with sign-SGD on the
// rows of the batch, never with the network's optimiser.
class PuzzleEmbeddingImpl : public torch::nn::Module {
 public:
  PuzzleEmbeddingImpl(int64_t num, int64_t dim) {
    weights = register_parameter("weights", torch::zeros({num, dim}));  // Official: zero init.
  }
  torch::Tensor weights;
};
TORCH_MODULE(PuzzleEmbedding);

class TrmInnerImpl : public torch::nn::Module {
 public:
  explicit TrmInnerImpl(const TrmConfig& c, torch::ScalarType dtype) : config(c) {
    const double embed_scale = std::sqrt(static_cast<double>(c.hidden_size));
    embed_tokens = register_module("embed_tokens",
                                   CastedEmbedding(c.vocab_size, c.hidden_size, 1.0 / embed_scale));
    lm_head = register_module("lm_head", CastedLinear(c.hidden_size, c.vocab_size, false));
    q_head = register_module("q_head", CastedLinear(c.hidden_size, 2, true));
    if (c.puzzle_emb_ndim > 0) {
      puzzle_emb = register_module("puzzle_emb",
                                   PuzzleEmbedding(c.num_puzzle_identifiers, c.puzzle_emb_ndim));
    }
    if (c.pos_encodings == "learned") {
      embed_pos = register_module(
          "embed_pos", CastedEmbedding(c.FullSeqLen(), c.hidden_size, 1.0 / embed_scale));
    }
    L_level = register_module("L_level", ReasoningModule(c));
    auto h_init = torch::empty({c.hidden_size}, dtype);
    auto l_init = torch::empty({c.hidden_size}, dtype);
    TruncNormalInit_(h_init, 1.0);
    TruncNormalInit_(l_init, 1.0);
    H_init = register_buffer("H_init", h_init);
    L_init = register_buffer("L_init", l_init);
    // Official Q-head init: (almost) zero so halting is learned from "continue".
    torch::NoGradGuard no_grad;
    q_head->weight.zero_();
    q_head->bias.fill_(-5);
  }

  const TrmConfig config;
  CastedEmbedding embed_tokens{nullptr};
  CastedLinear lm_head{nullptr};
  CastedLinear q_head{nullptr};
  PuzzleEmbedding puzzle_emb{nullptr};
  CastedEmbedding embed_pos{nullptr};
  ReasoningModule L_level{nullptr};
  torch::Tensor H_init;
  torch::Tensor L_init;
  // RoPE tables, rebuilt when the module moves device (not part of the state dict).
  CosSin rotary;
};

TrmNetImpl::TrmNetImpl(const TrmConfig& config)
    : config_(config),
      forward_dtype_(config.forward_dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32) {
  inner_ = register_module("inner", std::make_shared<TrmInnerImpl>(config_, forward_dtype_));
}

Carry TrmNetImpl::InitialCarry(int64_t batch) {
  const int64_t s = config_.FullSeqLen(), h = config_.hidden_size;
  return {inner_->H_init.view({1, 1, h}).expand({batch, s, h}).clone(),
          inner_->L_init.view({1, 1, h}).expand({batch, s, h}).clone()};
}

Carry TrmNetImpl::ResetCarry(const Carry& carry, const torch::Tensor& reset) {
  auto mask = reset.to(carry.z_h.device(), torch::kBool).view({-1, 1, 1});
  return {torch::where(mask, inner_->H_init, carry.z_h),
          torch::where(mask, inner_->L_init, carry.z_l)};
}

void TrmNetImpl::ResetCarryRows(Carry& carry, int64_t begin, int64_t count) {
  const int64_t s = config_.FullSeqLen(), h = config_.hidden_size;
  carry.z_h.narrow(0, begin, count).copy_(inner_->H_init.view({1, 1, h}).expand({count, s, h}));
  carry.z_l.narrow(0, begin, count).copy_(inner_->L_init.view({1, 1, h}).expand({count, s, h}));
}

torch::Tensor TrmNetImpl::InputEmbeddings(const torch::Tensor& inputs,
                                          const torch::Tensor& puzzle_ids) {
  auto& in = *inner_;
  auto embedding = in.embed_tokens->forward(inputs, forward_dtype_);
  if (config_.puzzle_emb_ndim > 0) {
    auto puzzle =
        in.puzzle_emb->weights.index_select(0, puzzle_ids.to(torch::kLong)).to(forward_dtype_);
    const int64_t pad = int64_t{config_.PuzzleEmbLen()} * config_.hidden_size - puzzle.size(-1);
    if (pad > 0) puzzle = torch::constant_pad_nd(puzzle, {0, pad});
    embedding =
        torch::cat({puzzle.view({-1, config_.PuzzleEmbLen(), config_.hidden_size}), embedding}, -2);
  }
  if (config_.pos_encodings == "learned") {
    // Official: scale by 1/sqrt(2) to keep the forward variance.
    embedding = 0.707106781 * (embedding + in.embed_pos->embedding_weight.to(forward_dtype_));
  }
  return std::sqrt(static_cast<double>(config_.hidden_size)) * embedding;
}

void StoreOutput(torch::Tensor& into, const torch::Tensor& value) {
  if (into.is_same(value)) return;
  if (into.defined() && into.sizes() == value.sizes() &&
      into.scalar_type() == value.scalar_type()) {
    into.copy_(value);
  } else {
    into = value;
  }
}

std::pair<Carry, StepOutputs> TrmNetImpl::ActStep(const Carry& carry, const torch::Tensor& inputs,
                                                  const torch::Tensor& puzzle_ids) {
  auto& in = *inner_;
  const CosSin* cos_sin = nullptr;
  if (config_.pos_encodings == "rope") {
    const auto device = in.H_init.device();
    if (!in.rotary.cos.defined() || in.rotary.cos.device() != device) {
      auto t = MakeRotaryTables(config_.HeadDim(), config_.FullSeqLen(), config_.rope_theta);
      in.rotary = {t.cos.to(device), t.sin.to(device)};
    }
    cos_sin = &in.rotary;
  }
  const auto x = InputEmbeddings(inputs, puzzle_ids);
  auto z_h = carry.z_h;
  auto z_l = carry.z_l;
  auto cycle = [&] {
    for (int l = 0; l < config_.L_cycles; ++l) z_l = in.L_level->forward(z_l, z_h + x, cos_sin);
    z_h = in.L_level->forward(z_h, z_l, cos_sin);
  };
  {
    // Official: H_cycles - 1 cycles without gradient, the last one with it (when enabled).
    torch::NoGradGuard no_grad;
    for (int h = 0; h < config_.H_cycles - 1; ++h) cycle();
  }
  cycle();
  StepOutputs out;
  out.logits = in.lm_head->forward(z_h)
                   .narrow(1, config_.PuzzleEmbLen(), config_.seq_len)
                   .to(torch::kFloat32);
  auto q = in.q_head->forward(z_h.select(1, 0)).to(torch::kFloat32);
  out.q_halt = q.select(-1, 0);
  out.q_continue = q.select(-1, 1);
  return {Carry{z_h.detach(), z_l.detach()}, std::move(out)};
}

}  // namespace trm::model
