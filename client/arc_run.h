// `trm-client arc run`: an ARC Prize challenges file through trm-server. Every test input of every
// task is one Solve call (the server expands it into the model's augmentations and votes), at most
// `concurrency` in flight; puzzle/arc_run.h keeps the books, scores and writes the files.
#pragma once

#include <functional>
#include <string>

#include "puzzle/arc_run.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::client {

struct ArcRunOptions {
  std::string model;       // Empty: the server's default ARC model.
  int concurrency = 4;     // Solve calls in flight.
  int augmentations = 0;   // SolveOptions.arc_augmentations (0: the model's default).
  double timeout_s = 600;  // Per call.
  // Send each task's train pairs (ArcQuery.train), so a server whose model does not know a task
  // fits a puzzle embedding for it instead of answering NOT_FOUND.
  bool send_train = true;
  // After each answered test input, from the sending threads one at a time, in order.
  std::function<void(const puzzle::ArcRunProgress&)> on_progress;
};

// Sends every job of `run` and returns its result.
puzzle::ArcRunResult RunArcTasks(trm::v1::Solver::StubInterface& stub, puzzle::ArcRun& run,
                                 const ArcRunOptions& options);

}  // namespace trm::client
