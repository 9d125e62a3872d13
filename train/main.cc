// trm-train: trains a Tiny Recursive Model with the official recipe (deep supervision with ACT)
// and writes checkpoints the server loads.
//
//   trm-train --preset sudoku_small --out_dir runs/sudoku_small
//   trm-train --preset maze --data_dir data/maze-30x30-hard-1k --out_dir runs/maze
//   trm-train --ablation --small --out_dir runs/ablation
//   scripts/launch.py --nproc_per_node 2 build/train/trm-train --preset sudoku_small ...
//
// Every preset field can be overridden by the flag of the same name (official names). Under a
// torchrun environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) the process is one rank of a
// data-parallel group (train/data_parallel.h); without it, one process as always.
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/program_flags.h"
#include "train/ablation.h"
#include "train/communicator.h"
#include "train/run.h"

ABSL_FLAG(std::string, preset, "sudoku_small",
          "sudoku_att | sudoku_mlp_t | maze | arc | sudoku_small | maze_small | tiny");
ABSL_FLAG(bool, ablation, false, "Run the seed's four-configuration ablation instead");
ABSL_FLAG(bool, small, false, "With --ablation: the CPU-sized variant");
ABSL_FLAG(int64_t, stop_after, 0, "Stop (with a checkpoint) after this many steps of this run");
ABSL_FLAG(bool, print_options, false, "Print the resolved options as JSON and exit");
ABSL_FLAG(std::string, draw_curves, "",
          "Draw DIR/curves.svg from DIR/metrics.jsonl of an earlier run and exit");
ABSL_FLAG(std::string, dist_backend, "auto",
          "Data-parallel (torchrun environment): auto (nccl on CUDA where built, else gloo) | "
          "gloo | nccl");
ABSL_FLAG(double, dist_timeout_s, 300,
          "Data-parallel: the longest any rank waits for the others (rendezvous, each "
          "collective, rank 0's evaluation and checkpoint) before the job stops naming the rank "
          "at fault");
ABSL_FLAG(int64_t, dist_verify_every, 0,
          "Data-parallel: compare the ranks' weight fingerprints every N steps (0: at checkpoints "
          "and at the end only)");

// Overrides: empty means "keep the preset's value".
#define OVERRIDE_FLAG(name, help) ABSL_FLAG(std::string, name, "", help)
OVERRIDE_FLAG(out_dir, "Output directory (checkpoints, metrics.jsonl, curves.svg)");
OVERRIDE_FLAG(init_from, "Start from these weights (a checkpoint directory or official .pt)");
OVERRIDE_FLAG(resume, "true|false: continue from out_dir's LATEST checkpoint (default true)");
OVERRIDE_FLAG(device, "auto | cpu | cuda | cuda:N");
OVERRIDE_FLAG(dtype, "auto (bfloat16 on CUDA, float32 on CPU) | float32 | bfloat16");
OVERRIDE_FLAG(threads, "CPU threads for torch (0: default)");
OVERRIDE_FLAG(seed, "Run seed (network init, data, exploration)");
OVERRIDE_FLAG(steps, "Total training steps (overrides epochs)");
OVERRIDE_FLAG(epochs, "Epochs over a fixed training set");
OVERRIDE_FLAG(global_batch_size, "Batch rows");
OVERRIDE_FLAG(eval_interval, "Steps between evaluations (0: at the end)");
OVERRIDE_FLAG(checkpoint_interval, "Steps between checkpoints (0: at the end)");
OVERRIDE_FLAG(log_interval, "Steps between progress lines");
OVERRIDE_FLAG(eval_size, "Held-out examples");
OVERRIDE_FLAG(eval_batch_size, "Evaluation batch");
OVERRIDE_FLAG(halt_threshold,
              "Halting threshold the model is served at: written to the checkpoint, and "
              "evaluation halts at it (0: the engine's default, 0.5)");
OVERRIDE_FLAG(train_size, "Generated data: 0 = fresh puzzles forever, N = a fixed set");
OVERRIDE_FLAG(data_dir, "Official-format dataset directory (train/ and test/)");
OVERRIDE_FLAG(task, "Generated data: sudoku | maze");
OVERRIDE_FLAG(sudoku_min_givens, "Generated sudoku: fewest givens");
OVERRIDE_FLAG(sudoku_max_givens, "Generated sudoku: most givens");
OVERRIDE_FLAG(sudoku_min_guesses, "Generated sudoku: solver guesses at least");
OVERRIDE_FLAG(sudoku_max_guesses, "Generated sudoku: solver guesses at most (-1: any)");
OVERRIDE_FLAG(maze_side, "Generated maze side (5..30)");
OVERRIDE_FLAG(maze_min_path, "Generated maze: shortest path at least");
OVERRIDE_FLAG(dihedral_aug, "true|false: generated examples in a random one of 8 orientations");
OVERRIDE_FLAG(optimizer, "adam_atan2 | adamw");
OVERRIDE_FLAG(loss, "stablemax | softmax");
OVERRIDE_FLAG(lr, "Learning rate");
OVERRIDE_FLAG(lr_min_ratio, "Cosine floor as a fraction of lr (1: constant)");
OVERRIDE_FLAG(lr_warmup_steps, "Linear warm-up steps");
OVERRIDE_FLAG(beta1, "Adam beta1");
OVERRIDE_FLAG(beta2, "Adam beta2");
OVERRIDE_FLAG(weight_decay, "Decoupled weight decay of the network");
OVERRIDE_FLAG(puzzle_emb_lr, "Sign-SGD learning rate of the puzzle embeddings");
OVERRIDE_FLAG(puzzle_emb_weight_decay, "Sign-SGD weight decay of the puzzle embeddings");
OVERRIDE_FLAG(ema, "true|false: keep an EMA of the weights for evaluation and saving");
OVERRIDE_FLAG(ema_rate, "EMA rate");
OVERRIDE_FLAG(H_cycles, "arch.H_cycles");
OVERRIDE_FLAG(L_cycles, "arch.L_cycles");
OVERRIDE_FLAG(L_layers, "arch.L_layers");
OVERRIDE_FLAG(hidden_size, "arch.hidden_size");
OVERRIDE_FLAG(num_heads, "arch.num_heads");
OVERRIDE_FLAG(expansion, "arch.expansion");
OVERRIDE_FLAG(pos_encodings, "arch.pos_encodings: rope | learned | none");
OVERRIDE_FLAG(mlp_t, "arch.mlp_t: true|false");
OVERRIDE_FLAG(puzzle_emb_ndim, "arch.puzzle_emb_ndim (0: none)");
OVERRIDE_FLAG(puzzle_emb_len, "arch.puzzle_emb_len");
OVERRIDE_FLAG(halt_max_steps, "arch.halt_max_steps");
OVERRIDE_FLAG(halt_exploration_prob, "arch.halt_exploration_prob");
OVERRIDE_FLAG(no_ACT_continue, "arch.no_ACT_continue: true|false (false: q_continue bootstrap)");
OVERRIDE_FLAG(rope_theta, "arch.rope_theta");
OVERRIDE_FLAG(rms_norm_eps, "arch.rms_norm_eps");

namespace {

using trm::train::TrainOptions;
absl::Status ParseValue(const std::string& s, std::string* out) {
  *out = s;
  return absl::OkStatus();
}
absl::Status ParseValue(const std::string& s, int* out) {
  return absl::SimpleAtoi(s, out) ? absl::OkStatus() : absl::InvalidArgumentError("not an integer");
}
absl::Status ParseValue(const std::string& s, int64_t* out) {
  return absl::SimpleAtoi(s, out) ? absl::OkStatus() : absl::InvalidArgumentError("not an integer");
}
absl::Status ParseValue(const std::string& s, uint64_t* out) {
  return absl::SimpleAtoi(s, out) ? absl::OkStatus() : absl::InvalidArgumentError("not an integer");
}
absl::Status ParseValue(const std::string& s, double* out) {
  return absl::SimpleAtod(s, out) ? absl::OkStatus() : absl::InvalidArgumentError("not a number");
}
absl::Status ParseValue(const std::string& s, bool* out) {
  return absl::SimpleAtob(s, out) ? absl::OkStatus() : absl::InvalidArgumentError("not true/false");
}

struct Override {
  const char* name;
  std::string value;
  std::function<absl::Status(TrainOptions&, const std::string&)> apply;
};

#define FIELD(flag, expr)                                                             \
  Override {                                                                          \
#flag, absl::GetFlag(FLAGS_##flag),                                               \
        [](TrainOptions & o, const std::string& v) { return ParseValue(v, &(expr)); } \
  }

std::vector<Override> Overrides() {
  return {FIELD(out_dir, o.out_dir),
          FIELD(init_from, o.init_from),
          FIELD(resume, o.resume),
          FIELD(device, o.device),
          FIELD(dtype, o.dtype),
          FIELD(threads, o.threads),
          FIELD(seed, o.seed),
          FIELD(steps, o.steps),
          FIELD(epochs, o.epochs),
          FIELD(global_batch_size, o.global_batch_size),
          FIELD(eval_interval, o.eval_interval),
          FIELD(checkpoint_interval, o.checkpoint_interval),
          FIELD(log_interval, o.log_interval),
          FIELD(eval_size, o.eval_size),
          FIELD(eval_batch_size, o.eval_batch_size),
          FIELD(halt_threshold, o.halt_threshold),
          FIELD(train_size, o.train_size),
          FIELD(data_dir, o.data_dir),
          FIELD(task, o.data.task),
          FIELD(sudoku_min_givens, o.data.sudoku_min_givens),
          FIELD(sudoku_max_givens, o.data.sudoku_max_givens),
          FIELD(sudoku_min_guesses, o.data.sudoku_min_guesses),
          FIELD(sudoku_max_guesses, o.data.sudoku_max_guesses),
          FIELD(maze_side, o.data.maze_side),
          FIELD(maze_min_path, o.data.maze_min_path),
          FIELD(dihedral_aug, o.data.dihedral_aug),
          FIELD(optimizer, o.optimizer),
          FIELD(loss, o.loss),
          FIELD(lr, o.lr),
          FIELD(lr_min_ratio, o.lr_min_ratio),
          FIELD(lr_warmup_steps, o.lr_warmup_steps),
          FIELD(beta1, o.beta1),
          FIELD(beta2, o.beta2),
          FIELD(weight_decay, o.weight_decay),
          FIELD(puzzle_emb_lr, o.puzzle_emb_lr),
          FIELD(puzzle_emb_weight_decay, o.puzzle_emb_weight_decay),
          FIELD(ema, o.ema),
          FIELD(ema_rate, o.ema_rate),
          FIELD(H_cycles, o.arch.H_cycles),
          FIELD(L_cycles, o.arch.L_cycles),
          FIELD(L_layers, o.arch.L_layers),
          FIELD(hidden_size, o.arch.hidden_size),
          FIELD(num_heads, o.arch.num_heads),
          FIELD(expansion, o.arch.expansion),
          FIELD(pos_encodings, o.arch.pos_encodings),
          FIELD(mlp_t, o.arch.mlp_t),
          FIELD(puzzle_emb_ndim, o.arch.puzzle_emb_ndim),
          FIELD(puzzle_emb_len, o.arch.puzzle_emb_len),
          FIELD(halt_max_steps, o.arch.halt_max_steps),
          FIELD(halt_exploration_prob, o.arch.halt_exploration_prob),
          FIELD(no_ACT_continue, o.arch.no_ACT_continue),
          FIELD(rope_theta, o.arch.rope_theta),
          FIELD(rms_norm_eps, o.arch.rms_norm_eps)};
}

}  // namespace

int main(int argc, char** argv) {
  trm::ParseProgramFlags(
      argc, argv,
      "Trains a Tiny Recursive Model (deep supervision with ACT, the official recipe).\n"
      "  trm-train --preset sudoku_small --out_dir runs/sudoku_small\n"
      "  trm-train --ablation --small --out_dir runs/ablation\n"
      "Presets: sudoku_att sudoku_mlp_t maze arc sudoku_small maze_small tiny; every field can "
      "be overridden by its flag.");
  if (const std::string dir = absl::GetFlag(FLAGS_draw_curves); !dir.empty()) {
    if (!std::filesystem::exists(std::filesystem::path(dir) / "metrics.jsonl")) {
      std::cerr << "trm-train: --draw_curves " << dir << ": no metrics.jsonl there\n";
      return 2;
    }
    if (absl::Status st = trm::train::DrawCurves(dir); !st.ok()) {
      std::cerr << "trm-train: --draw_curves " << dir << ": " << st.message() << "\n";
      return 1;
    }
    std::cout << (std::filesystem::path(dir) / "curves.svg").string() << "\n";
    return 0;
  }
  const bool ablation = absl::GetFlag(FLAGS_ablation);
  absl::StatusOr<TrainOptions> preset = ablation
                                            ? trm::train::AblationBase(absl::GetFlag(FLAGS_small))
                                            : trm::train::Preset(absl::GetFlag(FLAGS_preset));
  if (!preset.ok()) {
    std::cerr << "trm-train: " << preset.status().message() << "\n";
    return 2;
  }
  TrainOptions options = *preset;
  for (const auto& o : Overrides()) {
    if (o.value.empty()) continue;
    if (auto st = o.apply(options, o.value); !st.ok()) {
      std::cerr << "trm-train: --" << o.name << "=" << o.value << ": " << st.message() << "\n";
      return 2;
    }
  }
  // A maze's token layout follows its side.
  if (options.data.task == "maze" && options.data_dir.empty()) {
    options.arch.seq_len = options.data.maze_side * options.data.maze_side;
  }
  if (absl::GetFlag(FLAGS_print_options)) {
    std::cout << options.ToJson().dump(2) << "\n";
    return 0;
  }
  if (auto st = options.Validate(); !st.ok()) {
    std::cerr << "trm-train: " << st.message() << "\n";
    return 2;
  }
  if (options.threads > 0) torch::set_num_threads(options.threads);
  std::vector<std::string> args(argv, argv + argc);

  // One rank of a data-parallel group when the torchrun environment says so.
  auto env = trm::train::DistEnvFromEnvironment();
  if (!env.ok()) {
    std::cerr << "trm-train: " << env.status().message() << "\n";
    return 2;
  }
  std::unique_ptr<trm::train::Communicator> comm;
  std::string who = "trm-train: ";
  if (env->has_value()) {
    const auto& e = **env;
    who = absl::StrCat("trm-train: rank ", e.rank, ": ");
    if (ablation) {
      std::cerr << who
                << "--ablation runs its four configurations in one process; unset RANK "
                   "and WORLD_SIZE\n";
      return 2;
    }
    const double timeout_s = absl::GetFlag(FLAGS_dist_timeout_s);
    if (!(timeout_s >= 1)) {
      std::cerr << who << "--dist_timeout_s=" << timeout_s << ": must be at least 1\n";
      return 2;
    }
    // One GPU per local rank, as torchrun's LOCAL_RANK intends.
    if ((options.device == "auto" || options.device == "cuda") && torch::cuda::is_available()) {
      options.device = absl::StrCat("cuda:", e.local_rank % torch::cuda::device_count());
    }
    trm::train::CommOptions co;
    co.backend = absl::GetFlag(FLAGS_dist_backend);
    co.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    co.device = options.device.rfind("cuda", 0) == 0 ? torch::Device(options.device)
                                                     : torch::Device(torch::kCPU);
    auto c = trm::train::Communicator::Connect(e, co);
    if (!c.ok()) {
      std::cerr << who << c.status().message() << "\n";
      return 1;
    }
    comm = std::move(*c);
  }
  // A broken group's sockets and threads may block in destructors: a failed rank ends at once.
  auto fail = [&](const absl::Status& st) {
    if (comm) comm->ReportFailure(std::string(st.message()));
    std::cerr << who << st.message() << "\n";
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(1);
  };

  if (ablation) {
    if (options.out_dir.empty()) {
      std::cerr << "trm-train: --ablation needs --out_dir\n";
      return 2;
    }
    auto rows = trm::train::RunAblation(options, &std::cout);
    if (!rows.ok()) {
      std::cerr << "trm-train: " << rows.status().message() << "\n";
      return 1;
    }
    return 0;
  }
  trm::train::RunHooks hooks;
  hooks.log = &std::cout;
  hooks.command_line = absl::StrJoin(args, " ");
  hooks.stop_after = absl::GetFlag(FLAGS_stop_after);
  hooks.comm = comm.get();
  hooks.verify_every = absl::GetFlag(FLAGS_dist_verify_every);
  auto summary = trm::train::RunTraining(options, hooks);
  if (!summary.ok()) {
    if (!comm) {
      std::cerr << "trm-train: " << summary.status().message() << "\n";
      return 1;
    }
    fail(summary.status());
  }
  if (comm) {
    if (auto st = comm->Finish(); !st.ok()) fail(st);
    if (comm->rank() != 0) {
      std::cout << "done: " << summary->steps_done << " steps\n";
      return 0;
    }
  }
  std::cout << "done: " << summary->steps_done << " steps in " << summary->seconds << " s ("
            << summary->steps_per_second << " steps/s, "
            << summary->steps_per_second * options.global_batch_size << " examples/s)";
  if (!summary->final_checkpoint.empty()) std::cout << "; model: " << summary->final_checkpoint;
  std::cout << "\n";
  return 0;
}
