#include "model/fast_net.h"

#include <optional>
#include <string>

#include "model/layers.h"

namespace trm::model {

namespace {

// A parameter as float32 [n, k], contiguous.
torch::Tensor Float32(const torch::OrderedDict<std::string, torch::Tensor>& params,
                      const std::string& key) {
  const torch::Tensor* t = params.find(key);
  TORCH_CHECK(t != nullptr, "fast CPU step: the network has no parameter ", key);
  return t->detach().to(torch::kFloat32).contiguous();
}

fast::PackedWeight Pack(const torch::OrderedDict<std::string, torch::Tensor>& params,
                        const std::string& key, fast::PackedWeight::Format format) {
  const torch::Tensor w = Float32(params, key);
  TORCH_CHECK(w.dim() == 2, "fast CPU step: ", key, " is not a matrix");
  return fast::PackedWeight(w.data_ptr<float>(), w.size(1), static_cast<int>(w.size(0)),
                            static_cast<int>(w.size(1)), format);
}

}  // namespace

std::vector<FastNet::Stamp> FastNet::Stamps(TrmNetImpl& net) {
  std::vector<Stamp> out;
  auto add = [&out](const torch::Tensor& t) {
    // Tensors made under InferenceMode keep no version counter; their storage still tells.
    out.push_back({t.data_ptr(), t.is_inference() ? -1 : static_cast<int64_t>(t._version())});
  };
  for (const auto& p : net.parameters()) add(p);
  for (const auto& b : net.buffers()) add(b);
  return out;
}

bool FastNet::UpToDate(TrmNetImpl& net) const {
  const std::vector<Stamp> now = Stamps(net);
  if (now.size() != stamps_.size()) return false;
  for (size_t i = 0; i < now.size(); ++i) {
    if (now[i].data != stamps_[i].data || now[i].version != stamps_[i].version) return false;
  }
  return true;
}

std::unique_ptr<FastNet> FastNet::Create(TrmNetImpl& net, CpuKernels kernels) {
  const std::optional<fast::Isa> isa = FastIsaFor(kernels);
  if (!isa) return nullptr;
  for (const auto& p : net.parameters()) {
    if (!p.device().is_cpu()) return nullptr;
  }
  const TrmConfig& c = net.config();
  const bool bf16 = net.forward_dtype() == torch::kBFloat16;
  using Format = fast::PackedWeight::Format;
  Format format = Format::kFloat32;
  if (bf16) {
    // Without a bfloat16 dot product (AVX2, or AVX-512 without AVX512_BF16) the weights are
    // rounded to bfloat16 and dotted in float32: the official numbers, at float32's speed.
    format = CpuKernelsInUse(kernels, true) == "avx512_bf16" ? Format::kBfloat16Pairs
                                                             : Format::kBfloat16Values;
  }

  torch::NoGradGuard no_grad;
  const auto params = net.named_parameters();
  fast::NetWeights w;
  for (int i = 0; i < c.L_layers; ++i) {
    const std::string layer = "inner.L_level.layers." + std::to_string(i) + ".";
    fast::BlockWeights b;
    if (c.mlp_t) {
      b.mlp_t_gate_up = Pack(params, layer + "mlp_t.gate_up_proj.weight", format);
      b.mlp_t_down = Pack(params, layer + "mlp_t.down_proj.weight", format);
    } else {
      b.qkv = Pack(params, layer + "self_attn.qkv_proj.weight", format);
      b.o = Pack(params, layer + "self_attn.o_proj.weight", format);
    }
    b.gate_up = Pack(params, layer + "mlp.gate_up_proj.weight", format);
    b.down = Pack(params, layer + "mlp.down_proj.weight", format);
    w.blocks.push_back(std::move(b));
  }
  w.lm_head = Pack(params, "inner.lm_head.weight", format);
  // The Q head keeps float32 values: its bias joins the sum before the one rounding.
  w.q_head = Pack(params, "inner.q_head.weight",
                  format == Format::kBfloat16Pairs ? Format::kBfloat16Values : format);
  const torch::Tensor q_bias = Float32(params, "inner.q_head.bias");
  w.q_bias[0] = q_bias[0].item<float>();
  w.q_bias[1] = q_bias[1].item<float>();
  if (c.pos_encodings == "rope") {
    const CosSin t = MakeRotaryTables(c.HeadDim(), c.FullSeqLen(), c.rope_theta);
    const torch::Tensor cos = t.cos.contiguous(), sin = t.sin.contiguous();
    w.cos.assign(cos.data_ptr<float>(), cos.data_ptr<float>() + cos.numel());
    w.sin.assign(sin.data_ptr<float>(), sin.data_ptr<float>() + sin.numel());
  }

  auto out = std::unique_ptr<FastNet>(new FastNet());
  out->format_ = format;
  out->step_ = std::make_unique<fast::FastStep>(c, std::move(w), bf16, *isa);
  out->stamps_ = Stamps(net);
  return out;
}

namespace {

// `t` itself when it is a contiguous float32 tensor of `shape` (written in place), else a new one.
torch::Tensor Float32Target(const torch::Tensor& t, torch::IntArrayRef shape) {
  if (t.defined() && t.sizes() == shape && t.scalar_type() == torch::kFloat32 &&
      t.is_contiguous()) {
    return t;
  }
  return torch::empty(shape, torch::kFloat32);
}

// The float32 buffer the step updates for `t`: t itself when it can be, else a float32 copy.
torch::Tensor WorkingCopy(const torch::Tensor& t) {
  if (t.scalar_type() == torch::kFloat32 && t.is_contiguous()) return t;
  return t.to(torch::kFloat32, false, /*copy=*/true).contiguous();
}

}  // namespace

void FastNet::ActStepInto(TrmNetImpl& net, Carry& carry, const torch::Tensor& inputs,
                          const torch::Tensor& puzzle_ids, StepOutputs& out, int threads,
                          fast::StepProfile* profile) {
  const TrmConfig& c = net.config();
  const int64_t n = inputs.size(0);
  const std::vector<int64_t> shape = {n, c.FullSeqLen(), c.hidden_size};
  TORCH_CHECK(carry.z_h.sizes() == shape && carry.z_l.sizes() == shape, "ActStep: carry is ",
              carry.z_h.sizes(), " / ", carry.z_l.sizes(), ", expected ", torch::IntArrayRef(shape),
              " for ", n, " inputs");
  TORCH_CHECK(inputs.dim() == 2 && inputs.size(1) == c.seq_len, "ActStep: inputs are ",
              inputs.sizes(), ", expected [", n, ", ", c.seq_len, "]");
  // The input embeddings are a handful of libtorch ops per step; the recursion is the cost.
  const torch::Tensor x = net.InputEmbeddings(inputs, puzzle_ids).to(torch::kFloat32).contiguous();
  torch::Tensor z_h = WorkingCopy(carry.z_h), z_l = WorkingCopy(carry.z_l);
  torch::Tensor logits = Float32Target(out.logits, {n, c.seq_len, c.vocab_size});
  torch::Tensor q = torch::empty({n, 2}, torch::kFloat32);
  step_->Run(static_cast<int>(n), z_h.data_ptr<float>(), z_l.data_ptr<float>(), x.data_ptr<float>(),
             logits.data_ptr<float>(), q.data_ptr<float>(), threads, profile);
  // bfloat16 carries were rounded at every update, so the conversion back is exact.
  if (!z_h.is_same(carry.z_h)) carry.z_h.copy_(z_h);
  if (!z_l.is_same(carry.z_l)) carry.z_l.copy_(z_l);
  StoreOutput(out.logits, logits);
  StoreOutput(out.q_halt, q.select(1, 0));
  StoreOutput(out.q_continue, q.select(1, 1));
}

}  // namespace trm::model
