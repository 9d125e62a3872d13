// TrmConfig: the architecture of a Tiny Recursive Model, field for field the official
// TinyRecursiveReasoningModel_ACTV1Config (models/recursive_reasoning/trm.py), plus the
// derived sizes every layer needs. Plain C++: no torch, so the engine's users can read it.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace trm {

struct TrmConfig {
  // Data shape.
  int seq_len = 81;
  int vocab_size = 11;
  int num_puzzle_identifiers = 1;
  int puzzle_emb_ndim = 0;  // 0: no puzzle embedding.
  int puzzle_emb_len = 16;  // Prefix positions; 0 means ceil(puzzle_emb_ndim / hidden_size).

  // Recursion.
  int H_cycles = 3;
  int L_cycles = 6;
  int L_layers = 2;

  // Transformer.
  int hidden_size = 512;
  double expansion = 4.0;
  int num_heads = 8;
  std::string pos_encodings = "rope";  // rope | learned | none
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  bool mlp_t = false;  // SwiGLU across the sequence axis instead of attention.

  // Halting (ACT).
  int halt_max_steps = 16;
  double halt_exploration_prob = 0.1;
  bool no_ACT_continue = true;

  std::string forward_dtype = "float32";  // float32 | bfloat16

  // Derived sizes, as the official code computes them.
  int PuzzleEmbLen() const;  // 0 when puzzle_emb_ndim == 0.
  int FullSeqLen() const { return seq_len + PuzzleEmbLen(); }
  int HeadDim() const { return hidden_size / num_heads; }
  // SwiGLU inner width: round(expansion * width * 2/3) rounded up to a multiple of 256.
  static int SwiGluInner(int width, double expansion);
  int64_t ParameterCount() const;

  // Checks ranges and consistency; the message names the field at fault.
  absl::Status Validate() const;

  // JSON with the official field names. Unknown keys are an error (a typo must not pass
  // silently); official fields that do not affect the network (H_layers, batch_size, name,
  // loss, ...) are accepted and ignored. The result is validated.
  static absl::StatusOr<TrmConfig> FromJson(const nlohmann::json& j);
  nlohmann::json ToJson() const;
};

}  // namespace trm
