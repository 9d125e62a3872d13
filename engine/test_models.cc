#include "engine/test_models.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <random>

#include "model/checkpoint.h"

namespace trm::engine::testing {

std::string SaveTinyCheckpoint(const std::string& dir, const TinyModelOptions& o) {
  TrmConfig c;
  c.seq_len = o.seq_len;
  c.vocab_size = o.vocab_size;
  c.hidden_size = o.hidden_size;
  c.num_heads = 2;
  c.expansion = 2.0;
  c.H_cycles = 2;
  c.L_cycles = 2;
  c.L_layers = 1;
  c.halt_max_steps = o.halt_max_steps;
  c.num_puzzle_identifiers = std::max<int>(1, o.puzzle_identifiers.size());
  c.puzzle_emb_ndim = o.puzzle_identifiers.empty() ? 0 : o.hidden_size;
  c.puzzle_emb_len = o.puzzle_identifiers.empty() ? 0 : 1;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  torch::manual_seed(o.seed);
  model::TrmNet net(c);
  {
    torch::NoGradGuard no_grad;
    auto params = net->named_parameters();
    params["inner.q_head.bias"].fill_(o.q_bias);
    if (o.q_weight_std > 0) params["inner.q_head.weight"].normal_(0, o.q_weight_std);
    if (!o.puzzle_identifiers.empty()) params["inner.puzzle_emb.weights"].normal_(0, 1);
  }
  model::CheckpointInfo info;
  info.name = "tiny";
  info.config = c;
  info.task = {{"kind", o.kind}};
  info.puzzle_identifiers = o.puzzle_identifiers;
  info.halt_threshold = o.halt_threshold;
  absl::Status s = model::SaveCheckpoint(net, info, dir);
  EXPECT_TRUE(s.ok()) << s;
  return dir;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* made = mkdtemp(buf.data());
  EXPECT_NE(made, nullptr);
  return made ? std::string(made) : std::string();
}

std::vector<std::vector<int32_t>> RandomPuzzles(int count, int seq_len, int vocab_size,
                                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> token(1, vocab_size - 1);
  std::vector<std::vector<int32_t>> out(count, std::vector<int32_t>(seq_len));
  for (auto& p : out) {
    for (auto& t : p) t = token(rng);
  }
  return out;
}

}  // namespace trm::engine::testing
