#include "model/config.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace trm {
namespace {

TEST(TrmConfig, SwiGluInnerFollowsOfficialRounding) {
  // round(4 * 512 * 2/3) = 1365 -> next multiple of 256 = 1536.
  EXPECT_EQ(TrmConfig::SwiGluInner(512, 4.0), 1536);
  EXPECT_EQ(TrmConfig::SwiGluInner(64, 4.0), 256);
  // mlp_t over 81 + 16 positions: round(258.67) = 259 -> 512 (matches the official state dict).
  EXPECT_EQ(TrmConfig::SwiGluInner(97, 4.0), 512);
  // Already a multiple of 256: kept.
  EXPECT_EQ(TrmConfig::SwiGluInner(384, 1.0), 256);
}

TEST(TrmConfig, PuzzleEmbLenZeroMeansCeilDivision) {
  TrmConfig c;
  c.hidden_size = 64;
  c.puzzle_emb_ndim = 96;
  c.puzzle_emb_len = 0;
  EXPECT_EQ(c.PuzzleEmbLen(), 2);
  c.puzzle_emb_ndim = 0;
  EXPECT_EQ(c.PuzzleEmbLen(), 0);
  c.puzzle_emb_ndim = 64;
  c.puzzle_emb_len = 16;
  EXPECT_EQ(c.PuzzleEmbLen(), 16);
  c.seq_len = 81;
  EXPECT_EQ(c.FullSeqLen(), 97);
}

TEST(TrmConfig, JsonRoundTrip) {
  TrmConfig c;
  c.hidden_size = 128;
  c.num_heads = 4;
  c.mlp_t = true;
  auto back = TrmConfig::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), c.ToJson());
}

TEST(TrmConfig, OfficialIgnoredKeysAccepted) {
  auto j = TrmConfig().ToJson();
  j["H_layers"] = 0;
  j["name"] = "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1";
  j["loss"] = {{"name", "losses@ACTLossHead"}};
  EXPECT_TRUE(TrmConfig::FromJson(j).ok());
}

TEST(TrmConfig, ErrorsNameTheField) {
  auto j = TrmConfig().ToJson();
  j["hidden_sise"] = 3;
  auto r = TrmConfig::FromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("hidden_sise"), std::string::npos) << r.status();

  j = TrmConfig().ToJson();
  j["num_heads"] = 7;
  r = TrmConfig::FromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("num_heads 7"), std::string::npos) << r.status();

  j = TrmConfig().ToJson();
  j["pos_encodings"] = "alibi";
  r = TrmConfig::FromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("alibi"), std::string::npos);

  j = TrmConfig().ToJson();
  j["H_cycles"] = "three";
  r = TrmConfig::FromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("H_cycles"), std::string::npos) << r.status();
}

TEST(TrmConfig, ParameterCountOfPaperSudokuShape) {
  // Paper: hidden 512, 2 layers, attention: about 7M parameters (the 6.8M of shared/GPU.md
  // plus embeddings).
  TrmConfig c;
  c.hidden_size = 512;
  c.num_heads = 8;
  const double millions = c.ParameterCount() / 1e6;
  EXPECT_GT(millions, 6.0);
  EXPECT_LT(millions, 7.5);
}

}  // namespace
}  // namespace trm
