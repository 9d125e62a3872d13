#include "train/options.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace trm::train {

namespace {

// The official recipe's shared settings: TRM with 2 layers, deep supervision over 16 ACT steps.
TrainOptions PaperBase() {
  TrainOptions o;
  o.arch.H_cycles = 3;
  o.arch.L_cycles = 6;
  o.arch.L_layers = 2;
  o.arch.hidden_size = 512;
  o.arch.num_heads = 8;
  o.arch.expansion = 4;
  o.arch.puzzle_emb_ndim = 512;
  o.arch.puzzle_emb_len = 16;
  o.arch.halt_max_steps = 16;
  o.arch.halt_exploration_prob = 0.1;
  o.arch.no_ACT_continue = true;
  o.global_batch_size = 768;
  o.lr = 1e-4;
  o.lr_min_ratio = 1.0;
  o.lr_warmup_steps = 2000;
  o.ema = true;
  o.ema_rate = 0.999;
  o.eval_size = 1000;
  o.eval_batch_size = 768;
  o.log_interval = 50;
  return o;
}

// Sudoku-Extreme as the paper's README trains it (1k puzzles x 1000 augmentations, 50k
// epochs of 1k examples at batch 768 = 65,104 steps; weight decay 1.0 on both optimisers).
TrainOptions PaperSudoku(bool mlp_t) {
  TrainOptions o = PaperBase();
  o.preset = mlp_t ? "sudoku_mlp_t" : "sudoku_att";
  o.arch.seq_len = 81;
  o.arch.vocab_size = 11;
  o.arch.mlp_t = mlp_t;
  o.arch.pos_encodings = mlp_t ? "none" : "rope";
  o.data.task = "sudoku";
  o.data.sudoku_min_givens = 17;
  o.data.sudoku_max_givens = 30;
  o.steps = 65104;
  o.eval_interval = 6510;
  o.checkpoint_interval = 6510;
  o.puzzle_emb_lr = 1e-4;
  o.weight_decay = 1.0;
  o.puzzle_emb_weight_decay = 1.0;
  return o;
}

// Maze-Hard: 1,000 30x30 mazes with shortest path > 110, L_cycles 4, 50k epochs.
TrainOptions PaperMaze() {
  TrainOptions o = PaperBase();
  o.preset = "maze";
  o.arch.seq_len = 900;
  o.arch.vocab_size = 6;
  o.arch.L_cycles = 4;
  o.data.task = "maze";
  o.data.maze_side = 30;
  o.data.maze_min_path = 111;
  o.train_size = 1000;
  o.epochs = 50000;
  o.eval_interval = 6510;
  o.checkpoint_interval = 6510;
  o.puzzle_emb_lr = 1e-4;
  o.weight_decay = 1.0;
  o.puzzle_emb_weight_decay = 1.0;
  return o;
}

// ARC-AGI (official cfg_pretrain.yaml defaults): needs an official dataset directory
// (dataset/build_arc_dataset.py output), which also fixes the number of puzzle identifiers.
TrainOptions PaperArc() {
  TrainOptions o = PaperBase();
  o.preset = "arc";
  o.arch.seq_len = 900;
  o.arch.vocab_size = 12;
  o.arch.L_cycles = 4;
  o.data.task = "arc";
  o.epochs = 100000;
  o.puzzle_emb_lr = 1e-2;
  o.weight_decay = 0.1;
  o.puzzle_emb_weight_decay = 0.1;
  return o;
}

// Small CPU presets: the same loop and recipe at a size two (shared) CPU cores train at about
// one step per second: hidden 64, 2 layers, H2 x L3, 8 ACT steps, batch 32.
TrainOptions SmallBase() {
  TrainOptions o;
  o.arch.H_cycles = 2;
  o.arch.L_cycles = 3;
  o.arch.L_layers = 2;
  o.arch.hidden_size = 64;
  o.arch.num_heads = 2;
  o.arch.expansion = 4;
  o.arch.puzzle_emb_ndim = 0;
  o.arch.halt_max_steps = 8;
  o.global_batch_size = 32;
  o.lr = 1e-3;
  o.lr_min_ratio = 0.1;
  o.lr_warmup_steps = 100;
  o.weight_decay = 0.1;
  o.ema = true;
  o.ema_rate = 0.99;
  o.eval_size = 128;
  o.eval_batch_size = 128;
  o.log_interval = 20;
  return o;
}

TrainOptions SmallSudoku() {
  TrainOptions o = SmallBase();
  o.preset = "sudoku_small";
  o.arch.seq_len = 81;
  o.arch.vocab_size = 11;
  o.data.task = "sudoku";
  o.data.sudoku_min_givens = 40;
  o.data.sudoku_max_givens = 45;
  o.steps = 3000;
  o.eval_interval = 250;
  o.checkpoint_interval = 250;
  return o;
}

TrainOptions SmallMaze() {
  TrainOptions o = SmallBase();
  o.preset = "maze_small";
  o.data.task = "maze";
  o.data.maze_side = 9;
  o.data.maze_min_path = 12;
  o.arch.seq_len = 81;
  o.arch.vocab_size = 6;
  o.steps = 3000;
  o.eval_interval = 250;
  o.checkpoint_interval = 250;
  return o;
}

// For tests: seconds per hundred steps.
TrainOptions Tiny() {
  TrainOptions o = SmallBase();
  o.preset = "tiny";
  o.arch.seq_len = 81;
  o.arch.vocab_size = 11;
  o.arch.hidden_size = 32;
  o.arch.num_heads = 2;
  o.arch.L_layers = 1;
  o.arch.H_cycles = 2;
  o.arch.L_cycles = 1;
  o.arch.halt_max_steps = 4;
  o.data.task = "sudoku";
  o.data.sudoku_min_givens = 45;
  o.data.sudoku_max_givens = 50;
  o.global_batch_size = 8;
  o.eval_size = 16;
  o.eval_batch_size = 16;
  o.steps = 20;
  o.lr_warmup_steps = 2;
  o.log_interval = 0;
  return o;
}

}  // namespace

std::vector<std::string> PresetNames() {
  return {"sudoku_att", "sudoku_mlp_t", "maze", "arc", "sudoku_small", "maze_small", "tiny"};
}

absl::StatusOr<TrainOptions> Preset(const std::string& name) {
  if (name == "sudoku_att") return PaperSudoku(false);
  if (name == "sudoku_mlp_t") return PaperSudoku(true);
  if (name == "maze") return PaperMaze();
  if (name == "arc") return PaperArc();
  if (name == "sudoku_small") return SmallSudoku();
  if (name == "maze_small") return SmallMaze();
  if (name == "tiny") return Tiny();
  return absl::InvalidArgumentError(absl::StrCat(
      "preset: unknown '", name, "' (known: ", absl::StrJoin(PresetNames(), ", "), ")"));
}

nlohmann::json TrainOptions::ToJson() const {
  return {{"preset", preset},
          {"arch", arch.ToJson()},
          {"data",
           {{"task", data.task},
            {"seed", data.seed},
            {"sudoku_min_givens", data.sudoku_min_givens},
            {"sudoku_max_givens", data.sudoku_max_givens},
            {"sudoku_min_guesses", data.sudoku_min_guesses},
            {"sudoku_max_guesses", data.sudoku_max_guesses},
            {"maze_side", data.maze_side},
            {"maze_min_path", data.maze_min_path},
            {"dihedral_aug", data.dihedral_aug},
            {"data_dir", data_dir},
            {"train_size", train_size},
            {"eval_size", eval_size}}},
          {"global_batch_size", global_batch_size},
          {"epochs", epochs},
          {"steps", steps},
          {"eval_interval", eval_interval},
          {"checkpoint_interval", checkpoint_interval},
          {"halt_threshold", halt_threshold},
          {"optimizer", optimizer},
          {"loss", loss},
          {"lr", lr},
          {"lr_min_ratio", lr_min_ratio},
          {"lr_warmup_steps", lr_warmup_steps},
          {"beta1", beta1},
          {"beta2", beta2},
          {"weight_decay", weight_decay},
          {"puzzle_emb_lr", puzzle_emb_lr},
          {"puzzle_emb_weight_decay", puzzle_emb_weight_decay},
          {"ema", ema},
          {"ema_rate", ema_rate},
          {"seed", seed},
          {"device", device},
          {"dtype", dtype},
          {"init_from", init_from}};
}

absl::Status TrainOptions::Validate() const {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (global_batch_size < 1)
    return bad(absl::StrCat("global_batch_size: ", global_batch_size, " < 1"));
  if (steps < 0) return bad(absl::StrCat("steps: ", steps, " < 0"));
  if (epochs < 0) return bad(absl::StrCat("epochs: ", epochs, " < 0"));
  if (steps == 0 && epochs == 0) return bad("steps/epochs: one of them must be > 0");
  if (steps == 0 && train_size == 0 && data_dir.empty()) {
    return bad("epochs: need a fixed training set (--train_size or --data_dir); use --steps");
  }
  if (lr < 0) return bad(absl::StrCat("lr: ", lr, " < 0"));
  if (lr_min_ratio < 0 || lr_min_ratio > 1)
    return bad(absl::StrCat("lr_min_ratio: ", lr_min_ratio, " outside 0..1"));
  if (beta1 < 0 || beta1 >= 1) return bad(absl::StrCat("beta1: ", beta1, " outside [0, 1)"));
  if (beta2 < 0 || beta2 >= 1) return bad(absl::StrCat("beta2: ", beta2, " outside [0, 1)"));
  if (ema_rate < 0 || ema_rate >= 1)
    return bad(absl::StrCat("ema_rate: ", ema_rate, " outside [0, 1)"));
  if (eval_size < 0) return bad(absl::StrCat("eval_size: ", eval_size, " < 0"));
  if (eval_batch_size < 1) return bad(absl::StrCat("eval_batch_size: ", eval_batch_size, " < 1"));
  if (!(halt_threshold >= 0 && halt_threshold <= 1)) {
    return bad(
        absl::StrCat("halt_threshold: ", halt_threshold, " outside [0, 1] (0: the default)"));
  }
  if (train_size < 0) return bad(absl::StrCat("train_size: ", train_size, " < 0"));
  if (dtype != "auto" && dtype != "float32" && dtype != "bfloat16") {
    return bad("dtype: '" + dtype + "' (expected auto, float32 or bfloat16)");
  }
  return arch.Validate();
}

}  // namespace trm::train
