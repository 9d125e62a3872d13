#include "model/config.h"

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace trm {
namespace {

// Official config fields that do not change the network's shape or arithmetic at inference;
// accepted and ignored so official configs load unchanged.
const std::set<std::string>& IgnoredOfficialKeys() {
  static const auto* keys = new std::set<std::string>{"H_layers", "batch_size",    "name",
                                                      "loss",     "puzzle_emb_lr", "causal"};
  return *keys;
}

template <typename T>
absl::Status Read(const nlohmann::json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config field '", key, "': expected a ",
                                                   std::is_same_v<T, std::string> ? "string"
                                                   : std::is_same_v<T, bool>      ? "boolean"
                                                                                  : "number",
                                                   ", got ", it->dump()));
  }
  return absl::OkStatus();
}

}  // namespace

int TrmConfig::PuzzleEmbLen() const {
  if (puzzle_emb_ndim <= 0) return 0;  // Official: prefix only exists with an embedding.
  if (puzzle_emb_len != 0) return puzzle_emb_len;
  return (puzzle_emb_ndim + hidden_size - 1) / hidden_size;  // ceil(ndim / hidden)
}

int TrmConfig::SwiGluInner(int width, double expansion) {
  // Python's round() rounds half to even; std::nearbyint does too in the default mode.
  const int rounded = static_cast<int>(std::nearbyint(expansion * width * 2.0 / 3.0));
  return (rounded + 255) / 256 * 256;
}

int64_t TrmConfig::ParameterCount() const {
  const int64_t h = hidden_size;
  const int64_t full = FullSeqLen();
  int64_t n = int64_t{vocab_size} * h    // embed_tokens
              + int64_t{vocab_size} * h  // lm_head
              + 2 * h + 2                // q_head
              + int64_t{num_puzzle_identifiers} * (puzzle_emb_ndim > 0 ? puzzle_emb_ndim : 0);
  if (pos_encodings == "learned") n += full * h;
  const int64_t inner = SwiGluInner(hidden_size, expansion);
  int64_t per_layer = 3 * inner * h;  // gate_up (2*inner x h) + down (h x inner)
  if (mlp_t) {
    const int64_t inner_t = SwiGluInner(static_cast<int>(full), expansion);
    per_layer += 3 * inner_t * full;
  } else {
    per_layer += 3 * h * h + h * h;  // qkv + o
  }
  return n + per_layer * L_layers;
}

absl::Status TrmConfig::Validate() const {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError("config: " + what); };
  if (seq_len <= 0) return bad(absl::StrCat("seq_len must be positive, got ", seq_len));
  if (vocab_size <= 1) return bad(absl::StrCat("vocab_size must be at least 2, got ", vocab_size));
  if (hidden_size <= 0) return bad(absl::StrCat("hidden_size must be positive, got ", hidden_size));
  if (num_heads <= 0 || hidden_size % num_heads != 0)
    return bad(
        absl::StrCat("hidden_size ", hidden_size, " is not divisible by num_heads ", num_heads));
  if (pos_encodings == "rope" && HeadDim() % 2 != 0)
    return bad(absl::StrCat("rope needs an even head dim, got ", HeadDim()));
  if (H_cycles < 1) return bad(absl::StrCat("H_cycles must be >= 1, got ", H_cycles));
  if (L_cycles < 1) return bad(absl::StrCat("L_cycles must be >= 1, got ", L_cycles));
  if (L_layers < 1) return bad(absl::StrCat("L_layers must be >= 1, got ", L_layers));
  if (!(expansion > 0)) return bad(absl::StrCat("expansion must be positive, got ", expansion));
  if (pos_encodings != "rope" && pos_encodings != "learned" && pos_encodings != "none")
    return bad("pos_encodings must be rope, learned or none, got '" + pos_encodings + "'");
  if (!(rms_norm_eps > 0)) return bad(absl::StrCat("rms_norm_eps must be positive"));
  if (!(rope_theta > 0)) return bad(absl::StrCat("rope_theta must be positive"));
  if (puzzle_emb_ndim < 0) return bad("puzzle_emb_ndim must be >= 0");
  if (puzzle_emb_len < 0) return bad("puzzle_emb_len must be >= 0");
  if (puzzle_emb_ndim > 0 && puzzle_emb_ndim > PuzzleEmbLen() * hidden_size)
    return bad(absl::StrCat("puzzle_emb_ndim ", puzzle_emb_ndim, " does not fit in puzzle_emb_len ",
                            PuzzleEmbLen(), " x hidden_size ", hidden_size));
  if (num_puzzle_identifiers < 1)
    return bad(absl::StrCat("num_puzzle_identifiers must be >= 1, got ", num_puzzle_identifiers));
  if (halt_max_steps < 1)
    return bad(absl::StrCat("halt_max_steps must be >= 1, got ", halt_max_steps));
  if (forward_dtype != "float32" && forward_dtype != "bfloat16")
    return bad("forward_dtype must be float32 or bfloat16, got '" + forward_dtype + "'");
  return absl::OkStatus();
}

absl::StatusOr<TrmConfig> TrmConfig::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("config: expected a JSON object");
  static const std::set<std::string> kKnown = {"seq_len",
                                               "vocab_size",
                                               "num_puzzle_identifiers",
                                               "puzzle_emb_ndim",
                                               "puzzle_emb_len",
                                               "H_cycles",
                                               "L_cycles",
                                               "L_layers",
                                               "hidden_size",
                                               "expansion",
                                               "num_heads",
                                               "pos_encodings",
                                               "rms_norm_eps",
                                               "rope_theta",
                                               "mlp_t",
                                               "halt_max_steps",
                                               "halt_exploration_prob",
                                               "no_ACT_continue",
                                               "forward_dtype"};
  std::vector<std::string> unknown;
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.count(key) && !IgnoredOfficialKeys().count(key)) unknown.push_back(key);
  }
  if (!unknown.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("config: unknown field(s) ", absl::StrJoin(unknown, ", ")));
  TrmConfig c;
  absl::Status s;
  auto rd = [&](const char* key, auto& field) {
    if (s.ok()) s = Read(j, key, field);
  };
  rd("seq_len", c.seq_len);
  rd("vocab_size", c.vocab_size);
  rd("num_puzzle_identifiers", c.num_puzzle_identifiers);
  rd("puzzle_emb_ndim", c.puzzle_emb_ndim);
  rd("puzzle_emb_len", c.puzzle_emb_len);
  rd("H_cycles", c.H_cycles);
  rd("L_cycles", c.L_cycles);
  rd("L_layers", c.L_layers);
  rd("hidden_size", c.hidden_size);
  rd("expansion", c.expansion);
  rd("num_heads", c.num_heads);
  rd("pos_encodings", c.pos_encodings);
  rd("rms_norm_eps", c.rms_norm_eps);
  rd("rope_theta", c.rope_theta);
  rd("mlp_t", c.mlp_t);
  rd("halt_max_steps", c.halt_max_steps);
  rd("halt_exploration_prob", c.halt_exploration_prob);
  rd("no_ACT_continue", c.no_ACT_continue);
  rd("forward_dtype", c.forward_dtype);
  if (!s.ok()) return s;
  if (absl::Status v = c.Validate(); !v.ok()) return v;
  return c;
}

nlohmann::json TrmConfig::ToJson() const {
  return nlohmann::json{{"seq_len", seq_len},
                        {"vocab_size", vocab_size},
                        {"num_puzzle_identifiers", num_puzzle_identifiers},
                        {"puzzle_emb_ndim", puzzle_emb_ndim},
                        {"puzzle_emb_len", puzzle_emb_len},
                        {"H_cycles", H_cycles},
                        {"L_cycles", L_cycles},
                        {"L_layers", L_layers},
                        {"hidden_size", hidden_size},
                        {"expansion", expansion},
                        {"num_heads", num_heads},
                        {"pos_encodings", pos_encodings},
                        {"rms_norm_eps", rms_norm_eps},
                        {"rope_theta", rope_theta},
                        {"mlp_t", mlp_t},
                        {"halt_max_steps", halt_max_steps},
                        {"halt_exploration_prob", halt_exploration_prob},
                        {"no_ACT_continue", no_ACT_continue},
                        {"forward_dtype", forward_dtype}};
}

}  // namespace trm
