// A whole training run around the Trainer: resume from the output directory, progress lines a
// person can follow (steps/s, examples/s, loss, accuracy, ETA), metrics as JSON lines, periodic
// evaluation and checkpoints, and the loss / accuracy curves as an SVG.
//
// Output directory layout:
//   metrics.jsonl          {"kind":"train",...} every log_interval steps, {"kind":"eval",...}
//   step_<N>/              checkpoints (project format + train_state.*)
//   LATEST                 name of the newest complete checkpoint folder (resume reads it)
//   curves.svg             redrawn at every checkpoint
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "train/options.h"
#include "train/trainer.h"

namespace trm::train {

struct RunSummary {
  int64_t steps_done = 0;  // Steps this process ran.
  int64_t final_step = 0;
  double seconds = 0;
  double steps_per_second = 0;       // Training steps only (evaluation excluded).
  std::vector<StepMetrics> history;  // Every step this process ran.
  std::vector<EvalMetrics> evals;
  std::string final_checkpoint;  // Directory of the last checkpoint ("" when no out_dir).
};

struct RunHooks {
  std::ostream* log = nullptr;  // Progress lines (nullptr: silent).
  std::string command_line;     // Recorded in provenance.
  int64_t stop_after = 0;       // > 0: stop (and checkpoint) after this many steps of this
                                // process, e.g. to test resume.
  // Data-parallel (trm-train under torchrun or scripts/launch.py): the group this process is a
  // rank of; nullptr for one process. Rank 0 alone resumes, evaluates, writes out_dir and logs
  // progress; the others print a short line per log interval.
  Communicator* comm = nullptr;
  // > 0: every this many steps the ranks compare weight fingerprints (they must be identical);
  // they always do at checkpoints and at the end.
  int64_t verify_every = 0;
};

absl::StatusOr<RunSummary> RunTraining(const TrainOptions& options, const RunHooks& hooks);

// Draws out_dir/curves.svg from out_dir/metrics.jsonl (the whole history, resumes included).
// RunTraining redraws it at every checkpoint; `trm-train --draw_curves DIR` calls this alone.
absl::Status DrawCurves(const std::string& out_dir);

}  // namespace trm::train
