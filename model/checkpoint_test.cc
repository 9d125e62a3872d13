// Checkpoints: the own format round trip, official-format loading, and every way a checkpoint
// can be bad, each with a one-line error naming the file and the key.
#include "model/checkpoint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

namespace trm::model {
namespace {
namespace fs = std::filesystem;

TrmConfig Tiny() {
  TrmConfig c;
  c.seq_len = 81;
  c.vocab_size = 11;
  c.hidden_size = 16;
  c.num_heads = 2;
  c.H_cycles = 1;
  c.L_cycles = 1;
  c.halt_max_steps = 3;
  return c;
}

class CheckpointTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("trm_ckpt_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Save(const TrmConfig& c) {
    TrmNet net(c);
    CheckpointInfo info;
    info.task = {{"kind", "sudoku"}};
    const std::string out = (dir_ / "own").string();
    EXPECT_TRUE(SaveCheckpoint(net, info, out).ok());
    return out;
  }
  // Rewrites d/config.json through `change`, as a user editing it would.
  static void EditConfig(const std::string& d, const std::function<void(nlohmann::json&)>& change) {
    std::ifstream in(d + "/config.json");
    auto j = nlohmann::json::parse(in);
    in.close();
    change(j);
    std::ofstream(d + "/config.json") << j.dump();
  }
  fs::path dir_;
};

TEST_F(CheckpointTest, OwnFormatRoundTripIsExact) {
  torch::manual_seed(5);
  TrmNet net(Tiny());
  CheckpointInfo info;
  info.name = "tiny";
  info.task = {{"kind", "sudoku"}};
  info.provenance = {{"trainer", "test"}};
  ASSERT_TRUE(SaveCheckpoint(net, info, (dir_ / "a").string()).ok());
  auto loaded = LoadCheckpoint((dir_ / "a").string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.name, "tiny");
  EXPECT_EQ(loaded->info.task["kind"], "sudoku");
  EXPECT_EQ(loaded->info.provenance["trainer"], "test");
  EXPECT_EQ(loaded->info.version.size(), 12u);
  for (const auto& [key, value] : StateDictOf(net))
    EXPECT_TRUE(torch::equal(value, StateDictOf(loaded->net).at(key))) << key;
  // Same weights, same version; a second save of other weights changes it.
  ASSERT_TRUE(SaveCheckpoint(net, info, (dir_ / "b").string()).ok());
  EXPECT_EQ(LoadCheckpoint((dir_ / "b").string())->info.version, loaded->info.version);
  TrmNet other(Tiny());
  ASSERT_TRUE(SaveCheckpoint(other, info, (dir_ / "c").string()).ok());
  EXPECT_NE(LoadCheckpoint((dir_ / "c").string())->info.version, loaded->info.version);
}

TEST_F(CheckpointTest, OfficialPrefixesAreStripped) {
  StateDict s = {{"_orig_mod.model.inner.H_init", torch::zeros({2})},
                 {"model.inner.L_init", torch::zeros({2})},
                 {"inner.lm_head.weight", torch::zeros({2})}};
  auto out = StripOfficialPrefix(s);
  EXPECT_TRUE(out.count("inner.H_init"));
  EXPECT_TRUE(out.count("inner.L_init"));
  EXPECT_TRUE(out.count("inner.lm_head.weight"));
}

void ExpectError(const absl::StatusOr<LoadedCheckpoint>& r, const std::vector<std::string>& parts) {
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << p << " in: " << msg;
}

TEST_F(CheckpointTest, MissingKeyIsNamed) {
  const std::string d = Save(Tiny());
  auto state = *ReadStateDict(d + "/model.pt");
  state.erase("inner.lm_head.weight");
  ASSERT_TRUE(WriteStateDict(state, d + "/model.pt").ok());
  ExpectError(LoadCheckpoint(d), {"model.pt", "missing key inner.lm_head.weight", "[11, 16]"});
}

TEST_F(CheckpointTest, ExtraKeyIsNamed) {
  const std::string d = Save(Tiny());
  auto state = *ReadStateDict(d + "/model.pt");
  state["inner.surprise"] = torch::zeros({1});
  ASSERT_TRUE(WriteStateDict(state, d + "/model.pt").ok());
  ExpectError(LoadCheckpoint(d), {"model.pt", "unexpected key inner.surprise"});
}

TEST_F(CheckpointTest, WrongShapeIsNamedWithBothShapes) {
  const std::string d = Save(Tiny());
  auto state = *ReadStateDict(d + "/model.pt");
  state["inner.lm_head.weight"] = torch::zeros({12, 16});
  ASSERT_TRUE(WriteStateDict(state, d + "/model.pt").ok());
  ExpectError(LoadCheckpoint(d),
              {"key inner.lm_head.weight has shape [12, 16], config says [11, 16]"});
}

TEST_F(CheckpointTest, WrongDtypeIsNamed) {
  const std::string d = Save(Tiny());
  auto state = *ReadStateDict(d + "/model.pt");
  state["inner.q_head.bias"] = torch::zeros({2}, torch::kInt64);
  ASSERT_TRUE(WriteStateDict(state, d + "/model.pt").ok());
  ExpectError(LoadCheckpoint(d), {"inner.q_head.bias", "dtype"});
}

TEST_F(CheckpointTest, TruncatedAndCorruptFilesAreErrors) {
  const std::string d = Save(Tiny());
  std::string bytes;
  {
    std::ifstream in(d + "/model.pt", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(d + "/model.pt", std::ios::binary | std::ios::trunc)
      .write(bytes.data(), bytes.size() / 2);
  ExpectError(LoadCheckpoint(d), {"model.pt", "truncated or corrupt"});
  std::ofstream(d + "/model.pt", std::ios::binary | std::ios::trunc) << "not a checkpoint";
  ExpectError(LoadCheckpoint(d), {"model.pt"});
}

TEST_F(CheckpointTest, UnknownOptionAndMissingFilesAreErrors) {
  const std::string d = Save(Tiny());
  EditConfig(d, [](nlohmann::json& j) { j["arch"]["use_magic"] = true; });
  ExpectError(LoadCheckpoint(d), {"config.json", "unknown field(s) use_magic"});
  ExpectError(LoadCheckpoint((dir_ / "nowhere").string()), {"nowhere", "no such file"});
  fs::create_directories(dir_ / "empty");
  ExpectError(LoadCheckpoint((dir_ / "empty").string()), {"config.json"});
}

TEST_F(CheckpointTest, CalibratedHaltThresholdRoundTripsAndIsChecked) {
  TrmNet net(Tiny());
  CheckpointInfo info;
  info.task = {{"kind", "sudoku"}};
  const std::string none = (dir_ / "none").string();
  ASSERT_TRUE(SaveCheckpoint(net, info, none).ok());
  EXPECT_EQ(LoadCheckpoint(none)->info.halt_threshold, 0.0f);  // Absent: the engine decides.
  info.halt_threshold = 0.85f;
  const std::string d = (dir_ / "calibrated").string();
  ASSERT_TRUE(SaveCheckpoint(net, info, d).ok());
  auto loaded = LoadCheckpoint(d);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FLOAT_EQ(loaded->info.halt_threshold, 0.85f);
  for (double bad : {0.0, 1.5, -0.2}) {
    EditConfig(d, [bad](nlohmann::json& j) { j["serving"]["halt_threshold"] = bad; });
    ExpectError(LoadCheckpoint(d), {"config.json", "serving.halt_threshold", "outside (0, 1]"});
  }
}

TEST_F(CheckpointTest, DihedralViewsRoundTripAndAreChecked) {
  TrmNet net(Tiny());
  CheckpointInfo info;
  info.task = {{"kind", "sudoku"}};
  info.halt_threshold = 0.9f;
  info.dihedral_views = 8;
  const std::string d = (dir_ / "views").string();
  ASSERT_TRUE(SaveCheckpoint(net, info, d).ok());
  auto loaded = LoadCheckpoint(d);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.dihedral_views, 8);
  EXPECT_FLOAT_EQ(loaded->info.halt_threshold, 0.9f);  // Both serving fields kept.
  for (int bad : {0, 9}) {
    EditConfig(d, [bad](nlohmann::json& j) { j["serving"]["dihedral_views"] = bad; });
    ExpectError(LoadCheckpoint(d), {"config.json", "serving.dihedral_views", "outside 1..8"});
  }
}

TEST_F(CheckpointTest, OfficialFileWithoutConfigSaysWhereItLooked) {
  const std::string d = Save(Tiny());
  fs::copy_file(d + "/model.pt", dir_ / "step_100");
  ExpectError(LoadCheckpoint((dir_ / "step_100").string()),
              {"no configuration found", "all_config.yaml"});
}

TEST_F(CheckpointTest, OfficialRunDirectoryWithAllConfigYaml) {
  // An official run: step_N (state dict with "_orig_mod.model." keys) + all_config.yaml, and
  // the dataset's dataset.json where data_paths points.
  torch::manual_seed(9);
  TrmNet net(Tiny());
  StateDict prefixed;
  for (const auto& [k, v] : StateDictOf(net)) prefixed["_orig_mod.model." + k] = v;
  ASSERT_TRUE(WriteStateDict(prefixed, (dir_ / "step_7").string()).ok());
  fs::create_directories(dir_ / "data" / "train");
  std::ofstream(dir_ / "data" / "train" / "dataset.json")
      << R"({"seq_len": 81, "vocab_size": 11, "num_puzzle_identifiers": 1, "pad_id": 0})";
  std::ofstream(dir_ / "all_config.yaml") << "arch:\n  name: recursive_reasoning.trm@X\n"
                                             "  loss:\n    name: losses@ACTLossHead\n"
                                             "  H_cycles: 1\n  L_cycles: 1\n  H_layers: 0\n"
                                             "  L_layers: 2\n  hidden_size: 16\n  num_heads: 2\n"
                                             "  expansion: 4\n  puzzle_emb_ndim: 0\n"
                                             "  pos_encodings: rope\n  halt_max_steps: 3\n"
                                             "  halt_exploration_prob: 0.1\n"
                                             "  forward_dtype: float32\n"
                                          << "data_paths: [" << (dir_ / "data").string() << "]\n";
  auto loaded = LoadCheckpoint((dir_ / "step_7").string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.task["kind"], "sudoku");
  EXPECT_EQ(loaded->info.config.seq_len, 81);
  for (const auto& [key, value] : StateDictOf(net))
    EXPECT_TRUE(torch::equal(value, StateDictOf(loaded->net).at(key))) << key;
}

TEST_F(CheckpointTest, PythonTorchLoadReadsOurWeights) {
  if (!fs::exists("/usr/bin/python3") ||
      std::system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-torch not installed";
  const std::string d = Save(Tiny());
  const std::string cmd =
      "/usr/bin/python3 -c \"import torch; sd = torch.load('" + d +
      "/model.pt'); assert sd['inner.lm_head.weight'].shape == (11, 16), sd.keys(); "
      "assert 'inner.L_level.layers.1.self_attn.qkv_proj.weight' in sd; print(len(sd))\"";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST_F(CheckpointTest, InitCheckpointToolWritesALoadableModel) {
  const std::string out = (dir_ / "maze9").string();
  const std::string cmd = std::string(TRM_INIT_CHECKPOINT) +
                          " --task maze --maze_side 9 --hidden 16 --heads 2 --h_cycles 1 "
                          "--l_cycles 1 --halt_max_steps 4 --out " +
                          out + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto loaded = LoadCheckpoint(out);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.task["kind"], "maze");
  EXPECT_EQ(loaded->info.task["side"], 9);
  EXPECT_EQ(loaded->info.config.seq_len, 81);
  EXPECT_EQ(loaded->info.name, "maze9");
}

}  // namespace
}  // namespace trm::model
