#include "train/options.h"

#include <gtest/gtest.h>

#include "train/ablation.h"
#include "train/option_fields.h"

namespace trm::train {
namespace {

TEST(PresetTable, EveryOfferedPresetResolvesAndValidates) {
  ASSERT_EQ(PresetNames(), (std::vector<std::string>{"sudoku_att", "sudoku_mlp_t", "maze", "arc",
                                                     "sudoku_small", "maze_small", "tiny"}));
  for (const std::string& name : PresetNames()) {
    absl::StatusOr<TrainOptions> o = Preset(name);
    ASSERT_TRUE(o.ok()) << name << ": " << o.status();
    EXPECT_EQ(o->preset, name);
    // arc trains on an official dataset (its epochs need a fixed set): give it one.
    if (name == "arc") o->data_dir = "/data/arc-aug-1000";
    EXPECT_TRUE(o->Validate().ok()) << name << ": " << o->Validate();
  }
}

TEST(PresetTable, BasesAndAblationRowsResolveButAreNotOffered) {
  for (const char* name :
       {"paper_base", "paper_sudoku", "small_base", "ablation", "ablation_small"}) {
    absl::StatusOr<TrainOptions> o = BuiltInOptions(name);
    ASSERT_TRUE(o.ok()) << name << ": " << o.status();
    EXPECT_EQ(o->preset, name);
    absl::StatusOr<TrainOptions> offered = Preset(name);
    EXPECT_FALSE(offered.ok()) << name;
  }
  EXPECT_FALSE(BuiltInOptions("nope").ok());
}

TEST(PresetTable, ARowStartsFromItsBaseAndOverridesIt) {
  // sudoku_mlp_t <- paper_sudoku <- paper_base, each level changing something.
  TrainOptions o = *Preset("sudoku_mlp_t");
  EXPECT_EQ(o.arch.hidden_size, 512);  // paper_base
  EXPECT_EQ(o.arch.L_cycles, 6);       // paper_base
  EXPECT_EQ(o.steps, 65104);           // paper_sudoku
  EXPECT_EQ(o.weight_decay, 1.0);      // paper_sudoku over TrainOptions' 0.1
  EXPECT_TRUE(o.arch.mlp_t);           // its own
  EXPECT_EQ(o.arch.pos_encodings, "none");
  TrainOptions maze = *Preset("maze");
  EXPECT_EQ(maze.arch.L_cycles, 4);  // maze over paper_base's 6
  EXPECT_EQ(maze.arch.seq_len, 900);
  // The small ablation: ablation <- maze, then its own, and the side's token layout.
  TrainOptions a = AblationBase(/*small=*/true);
  EXPECT_EQ(a.preset, "ablation_small");
  EXPECT_EQ(a.data.maze_side, 7);
  EXPECT_EQ(a.arch.seq_len, 49);
  EXPECT_EQ(a.arch.puzzle_emb_ndim, 0);  // ablation
  EXPECT_EQ(a.lr, 3e-4);                 // ablation
  EXPECT_EQ(a.arch.L_cycles, 4);         // maze
}

TEST(PresetTable, UnknownPresetNamesTheKnownOnes) {
  absl::StatusOr<TrainOptions> o = Preset("sudoku_huge");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "preset: unknown 'sudoku_huge' (known: sudoku_att, sudoku_mlp_t, maze, arc, "
            "sudoku_small, maze_small, tiny)");
}

TEST(SetOption, SetsTheMemberItsRowNames) {
  TrainOptions o;
  ASSERT_TRUE(SetOption(o, "lr", "3e-4").ok());
  EXPECT_EQ(o.lr, 3e-4);
  ASSERT_TRUE(SetOption(o, "task", "maze").ok());
  EXPECT_EQ(o.data.task, "maze");
  ASSERT_TRUE(SetOption(o, "mlp_t", "true").ok());
  EXPECT_TRUE(o.arch.mlp_t);
  ASSERT_TRUE(SetOption(o, "seed", "18446744073709551615").ok());
  EXPECT_EQ(o.seed, 18446744073709551615ull);
  ASSERT_TRUE(SetOption(o, "seq_len", "49").ok());  // Preset-only, still settable by name.
  EXPECT_EQ(o.arch.seq_len, 49);
}

TEST(SetOption, ABadValueSaysWhatItIsNot) {
  TrainOptions o;
  EXPECT_EQ(SetOption(o, "steps", "ten").message(), "not an integer");
  EXPECT_EQ(SetOption(o, "lr", "fast").message(), "not a number");
  EXPECT_EQ(SetOption(o, "ema", "maybe").message(), "not true/false");
  EXPECT_EQ(SetOption(o, "learning_rate", "1").message(), "unknown option 'learning_rate'");
  EXPECT_EQ(o.steps, TrainOptions().steps);  // Nothing changed.
}

TEST(ToJson, RecordsEachRowWhereItsTableSays) {
  TrainOptions o = *Preset("tiny");
  const nlohmann::json j = o.ToJson();
  EXPECT_EQ(j["preset"], "tiny");
  EXPECT_EQ(j["lr"], o.lr);                 // Top
  EXPECT_EQ(j["data"]["task"], "sudoku");   // Data
  EXPECT_EQ(j["data"]["eval_size"], 16);    // Data
  EXPECT_EQ(j["arch"]["hidden_size"], 32);  // Arch, by TrmConfig::ToJson
  EXPECT_FALSE(j.contains("hidden_size"));
  for (const char* per_rank : {"out_dir", "resume", "threads", "log_interval", "eval_batch_size"}) {
    EXPECT_FALSE(j.contains(per_rank)) << per_rank;  // None
    EXPECT_FALSE(j["data"].contains(per_rank)) << per_rank;
  }
  // Every recorded row is there, and nothing else is.
  size_t top = 3, data = 1;  // preset, arch, data; data.seed
#define TRM_COUNT(flag, member, json, help)          \
  if (std::string_view(#json) == "Top") {            \
    EXPECT_TRUE(j.contains(#flag)) << #flag;         \
    ++top;                                           \
  }                                                  \
  if (std::string_view(#json) == "Data") {           \
    EXPECT_TRUE(j["data"].contains(#flag)) << #flag; \
    ++data;                                          \
  }
  TRM_TRAIN_OPTION_FIELDS(TRM_COUNT)
#undef TRM_COUNT
  EXPECT_EQ(j.size(), top);
  EXPECT_EQ(j["data"].size(), data);
}

}  // namespace
}  // namespace trm::train
