#include "model/layers.h"

#include <cmath>

namespace trm::model {

void TruncNormalInit_(torch::Tensor& tensor, double std, double lower, double upper) {
  torch::NoGradGuard no_grad;
  if (std == 0) {
    tensor.zero_();
    return;
  }
  // Sample uniformly in erf-space between the bounds and map back through erfinv; the factor
  // corrects for the variance the truncation removes.
  const double sqrt2 = std::sqrt(2.0);
  const double a = std::erf(lower / sqrt2);
  const double b = std::erf(upper / sqrt2);
  const double z = (b - a) / 2;
  const double c = 1.0 / std::sqrt(2 * M_PI);
  const double pdf_u = c * std::exp(-0.5 * lower * lower);
  const double pdf_l = c * std::exp(-0.5 * upper * upper);
  const double comp_std =
      std / std::sqrt(1 - (upper * pdf_u - lower * pdf_l) / z - std::pow((pdf_u - pdf_l) / z, 2));
  tensor.uniform_(a, b);
  tensor.erfinv_();
  tensor.mul_(sqrt2 * comp_std);
  tensor.clamp_(lower * comp_std, upper * comp_std);
}

torch::Tensor RmsNorm(const torch::Tensor& x, double eps) {
  const auto dtype = x.scalar_type();
  auto h = x.to(torch::kFloat32);
  auto variance = h.square().mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + eps);
  return h.to(dtype);
}

CastedLinearImpl::CastedLinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  weight = torch::empty({out_features, in_features});
  TruncNormalInit_(weight, 1.0 / std::sqrt(static_cast<double>(in_features)));
  weight = register_parameter("weight", weight);
  if (with_bias) bias = register_parameter("bias", torch::zeros({out_features}));
}

torch::Tensor CastedLinearImpl::forward(const torch::Tensor& x) {
  const auto dtype = x.scalar_type();
  return torch::nn::functional::linear(x, weight.to(dtype),
                                       bias.defined() ? bias.to(dtype) : torch::Tensor());
}

CastedEmbeddingImpl::CastedEmbeddingImpl(int64_t num_embeddings, int64_t dim, double init_std) {
  auto w = torch::empty({num_embeddings, dim});
  TruncNormalInit_(w, init_std);
  embedding_weight = register_parameter("embedding_weight", w);
}

torch::Tensor CastedEmbeddingImpl::forward(const torch::Tensor& ids, torch::ScalarType dtype) {
  return torch::embedding(embedding_weight.to(dtype), ids.to(torch::kLong));
}

CosSin MakeRotaryTables(int64_t head_dim, int64_t positions, double base) {
  auto inv_freq = 1.0 / torch::pow(base, torch::arange(0, head_dim, 2, torch::kFloat32) / head_dim);
  auto t = torch::arange(positions, torch::kFloat32);
  auto freqs = torch::outer(t, inv_freq);
  auto emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos(), emb.sin()};
}

namespace {
torch::Tensor RotateHalf(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}
}  // namespace

torch::Tensor ApplyRotary(const torch::Tensor& x, const CosSin& cs) {
  const auto dtype = x.scalar_type();
  auto xf = x.to(cs.cos.scalar_type());
  auto cos = cs.cos.unsqueeze(-2);  // [S, 1, D] broadcasts over heads
  auto sin = cs.sin.unsqueeze(-2);
  return (xf * cos + RotateHalf(xf) * sin).to(dtype);
}

SwiGluImpl::SwiGluImpl(int64_t width, double expansion) {
  const int64_t inner = TrmConfig::SwiGluInner(static_cast<int>(width), expansion);
  gate_up_proj = register_module("gate_up_proj", CastedLinear(width, 2 * inner, false));
  down_proj = register_module("down_proj", CastedLinear(inner, width, false));
}

torch::Tensor SwiGluImpl::forward(const torch::Tensor& x) {
  auto gate_up = gate_up_proj->forward(x).chunk(2, -1);
  return down_proj->forward(torch::silu(gate_up[0]) * gate_up[1]);
}

AttentionImpl::AttentionImpl(int64_t hidden_size, int64_t heads)
    : num_heads(heads), head_dim(hidden_size / heads) {
  qkv_proj = register_module("qkv_proj", CastedLinear(hidden_size, 3 * hidden_size, false));
  o_proj = register_module("o_proj", CastedLinear(hidden_size, hidden_size, false));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const CosSin* cos_sin) {
  const int64_t batch = x.size(0), seq = x.size(1);
  auto qkv = qkv_proj->forward(x).view({batch, seq, 3 * num_heads, head_dim});
  auto q = qkv.narrow(2, 0, num_heads);
  auto k = qkv.narrow(2, num_heads, num_heads);
  auto v = qkv.narrow(2, 2 * num_heads, num_heads);
  if (cos_sin != nullptr) {
    q = ApplyRotary(q, *cos_sin);
    k = ApplyRotary(k, *cos_sin);
  }
  // [B, S, H, D] -> [B, H, S, D]
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  v = v.transpose(1, 2);
  torch::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
  out = at::scaled_dot_product_attention(q, k, v);
#else
  // libtorch 1.13 has no public fused attention: softmax(q k^T / sqrt(d)) v written out, all
  // in float32 and rounded once at the end, as the fused kernels accumulate. (Rounding the
  // scores and probabilities to bfloat16 in between moved the bf16 parity vector's logits 4x
  // further from the official ones: 2.4e-2 vs 6.4e-3 relative L2 at step 1.)
  const auto dtype = v.scalar_type();
  auto qf = q.to(torch::kFloat32), kf = k.to(torch::kFloat32), vf = v.to(torch::kFloat32);
  auto scores = torch::matmul(qf, kf.transpose(-2, -1)) * (1.0 / std::sqrt(double(head_dim)));
  out = torch::matmul(torch::softmax(scores, -1), vf).to(dtype);
#endif
  out = out.transpose(1, 2).reshape({batch, seq, num_heads * head_dim});
  return o_proj->forward(out);
}

TrmBlockImpl::TrmBlockImpl(const TrmConfig& config) : eps(config.rms_norm_eps) {
  if (config.mlp_t) {
    mlp_t = register_module("mlp_t", SwiGlu(config.FullSeqLen(), config.expansion));
  } else {
    self_attn = register_module("self_attn", Attention(config.hidden_size, config.num_heads));
  }
  mlp = register_module("mlp", SwiGlu(config.hidden_size, config.expansion));
}

torch::Tensor TrmBlockImpl::forward(const torch::Tensor& x, const CosSin* cos_sin) {
  torch::Tensor h;
  if (mlp_t) {
    // Mix along the sequence: the SwiGLU and its norm act on the transposed [B, D, S] tensor.
    auto t = x.transpose(1, 2);
    t = RmsNorm(t + mlp_t->forward(t), eps);
    h = t.transpose(1, 2);
  } else {
    h = RmsNorm(x + self_attn->forward(x, cos_sin), eps);
  }
  return RmsNorm(h + mlp->forward(h), eps);
}

}  // namespace trm::model
