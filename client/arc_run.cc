#include "client/arc_run.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace trm::client {
namespace {

void SetGrid(const puzzle::ArcGrid& from, trm::v1::Grid* to) {
  to->set_rows(from.rows);
  to->set_cols(from.cols);
  for (uint8_t c : from.cells) to->add_cells(c);
}

trm::v1::SolveRequest ArcRequest(const puzzle::ArcTask& task, const puzzle::ArcGrid& input,
                                 const ArcRunOptions& options) {
  trm::v1::SolveRequest request;
  request.set_model(options.model);
  request.mutable_arc()->set_task_id(task.id);
  SetGrid(input, request.mutable_arc()->mutable_input());
  if (options.send_train) {
    for (const puzzle::ArcExample& pair : task.train) {
      trm::v1::ArcPair* p = request.mutable_arc()->add_train();
      SetGrid(pair.input, p->mutable_input());
      if (pair.output) SetGrid(*pair.output, p->mutable_output());
    }
  }
  request.mutable_options()->set_arc_augmentations(options.augmentations);
  request.mutable_options()->set_arc_attempts(2);  // The ARC Prize scores two attempts.
  return request;
}

// What one Solve gave for one job, as ArcRun::Record takes it.
struct JobAnswer {
  std::vector<puzzle::ArcGrid> attempts;
  std::string error;
  int steps = 0;
  double ms = 0;
  std::string model;
};

JobAnswer SolveJob(trm::v1::Solver::StubInterface& stub, const puzzle::ArcTask& task,
                   const puzzle::ArcGrid& input, const ArcRunOptions& options) {
  JobAnswer answer;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000)));
  trm::v1::SolveResponse response;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = stub.Solve(&context, ArcRequest(task, input, options), &response);
  answer.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!status.ok()) {
    answer.error =
        absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                     ": ", status.error_message());
    return answer;
  }
  answer.steps = response.steps();
  answer.model = response.model();
  for (const auto& attempt : response.arc_attempts()) {
    const auto& g = attempt.grid();
    auto grid = puzzle::ArcGridFromCells(
        g.rows(), g.cols(), std::span<const int32_t>(g.cells().data(), g.cells().size()));
    if (!grid.ok()) {
      answer.attempts.clear();
      answer.error = "the server's attempt is not a grid: " + grid.error().message;
      return answer;
    }
    answer.attempts.push_back(std::move(grid).value());
  }
  return answer;
}

}  // namespace

puzzle::ArcRunResult RunArcTasks(trm::v1::Solver::StubInterface& stub, puzzle::ArcRun& run,
                                 const ArcRunOptions& options) {
  // Recorded and reported under one lock, so the progress reported never goes backwards.
  std::mutex record_mu;
  auto work = [&] {
    while (std::optional<puzzle::ArcRun::Job> job = run.Take()) {
      const puzzle::ArcTask& task = run.tasks()[job->task];
      JobAnswer a = SolveJob(stub, task, task.test[job->test].input, options);
      std::lock_guard<std::mutex> lock(record_mu);
      const puzzle::ArcRunProgress progress =
          run.Record(*job, std::move(a.attempts), std::move(a.error), a.steps, a.ms, a.model);
      if (options.on_progress) options.on_progress(progress);
    }
  };
  const int workers = std::max(1, std::min(options.concurrency, run.jobs()));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  return run.Result();
}

}  // namespace trm::client
