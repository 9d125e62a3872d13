// The building blocks of the TRM network, each reproducing one piece of the official
// models/layers.py. Weights are kept in float32 and cast to the input's dtype at use
// ("Casted" layers), as the official code does, so one set of weights serves float32 and
// bfloat16 forwards.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "model/config.h"

namespace trm::model {

// Official trunc_normal_init_: a normal truncated to [lower, upper] standard deviations, with
// the spread corrected so the result has standard deviation `std` (std 0 zeroes the tensor).
void TruncNormalInit_(torch::Tensor& tensor, double std, double lower = -2.0, double upper = 2.0);

// Official rms_norm: computed in float32, returned in the input dtype.
torch::Tensor RmsNorm(const torch::Tensor& x, double eps);

class CastedLinearImpl : public torch::nn::Module {
 public:
  // Truncated LeCun normal weight (std 1/sqrt(in)), zero bias.
  CastedLinearImpl(int64_t in_features, int64_t out_features, bool bias);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out] or undefined
};
TORCH_MODULE(CastedLinear);

class CastedEmbeddingImpl : public torch::nn::Module {
 public:
  CastedEmbeddingImpl(int64_t num_embeddings, int64_t dim, double init_std);
  torch::Tensor forward(const torch::Tensor& ids, torch::ScalarType dtype);

  torch::Tensor embedding_weight;  // [num_embeddings, dim]
};
TORCH_MODULE(CastedEmbedding);

// RoPE tables [positions, head_dim] in float32, laid out as the official RotaryEmbedding:
// emb = cat(freqs, freqs), rotate_half pairs dimension i with i + head_dim / 2.
struct CosSin {
  torch::Tensor cos;
  torch::Tensor sin;
};
CosSin MakeRotaryTables(int64_t head_dim, int64_t positions, double base);
// x: [batch, seq, heads, head_dim]; computed in float32, returned in x's dtype.
torch::Tensor ApplyRotary(const torch::Tensor& x, const CosSin& cos_sin);

class SwiGluImpl : public torch::nn::Module {
 public:
  SwiGluImpl(int64_t width, double expansion);
  torch::Tensor forward(const torch::Tensor& x);

  CastedLinear gate_up_proj{nullptr};  // [2 * inner, width]
  CastedLinear down_proj{nullptr};     // [width, inner]
};
TORCH_MODULE(SwiGlu);

// Non-causal multi-head self-attention with a fused qkv projection.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t hidden_size, int64_t num_heads);
  // cos_sin may be null (no RoPE).
  torch::Tensor forward(const torch::Tensor& x, const CosSin* cos_sin);

  int64_t num_heads;
  int64_t head_dim;
  CastedLinear qkv_proj{nullptr};
  CastedLinear o_proj{nullptr};
};
TORCH_MODULE(Attention);

// One post-norm block: x = norm(x + mix(x)); x = norm(x + mlp(x)), where mix is attention or,
// with mlp_t, a SwiGLU across the sequence axis (normalised over that axis, as officially).
class TrmBlockImpl : public torch::nn::Module {
 public:
  explicit TrmBlockImpl(const TrmConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const CosSin* cos_sin);

  double eps;
  Attention self_attn{nullptr};
  SwiGlu mlp_t{nullptr};
  SwiGlu mlp{nullptr};
};
TORCH_MODULE(TrmBlock);

}  // namespace trm::model
