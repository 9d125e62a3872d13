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
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/program_flags.h"
#include "train/ablation.h"
#include "train/communicator.h"
#include "train/option_fields.h"
#include "train/options.h"
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

// One override flag per training option (train/option_fields.h); empty means "keep the preset's
// value".
#define TRM_OVERRIDE_FLAG(flag, member, json, help) ABSL_FLAG(std::string, flag, "", help);
TRM_TRAIN_OPTION_FIELDS(TRM_OVERRIDE_FLAG)
#undef TRM_OVERRIDE_FLAG

namespace {

using trm::train::TrainOptions;

// Each option's flag and its value on the command line, in the table's order.
std::vector<std::pair<const char*, std::string>> Overrides() {
  return {
#define TRM_OVERRIDE(flag, member, json, help) {#flag, absl::GetFlag(FLAGS_##flag)},
      TRM_TRAIN_OPTION_FIELDS(TRM_OVERRIDE)
#undef TRM_OVERRIDE
  };
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
  for (const auto& [flag, value] : Overrides()) {
    if (value.empty()) continue;
    if (auto st = trm::train::SetOption(options, flag, value); !st.ok()) {
      std::cerr << "trm-train: --" << flag << "=" << value << ": " << st.message() << "\n";
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
