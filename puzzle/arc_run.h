// A run of an ARC Prize challenges file, whatever sends the test inputs: trm-client's gRPC workers
// (client/arc_run.h) and the server's POST /v1/arc:run (server/http/arc_run_handler.h) share this
// bookkeeping, the scoring and the files it writes (target trm_puzzle_io).
//
// Every test input of every well-formed task is a job; senders Take() jobs, solve them however
// they do, and Record() the attempts. Scoring is the ARC Prize's: a test input counts when either
// of its two attempts is exact, a task scores the share of its test inputs solved, and the file
// scores the sum of its tasks' scores (a task the file could not give scores 0).
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "puzzle/arc.h"
#include "puzzle/arc_json.h"

namespace trm::puzzle {

// Where a run is (what a progress bar draws).
struct ArcRunProgress {
  bool scored = false;  // The file came with solutions.
  int tasks_done = 0;   // Tasks all of whose test inputs are answered or failed, bad ones included.
  int tasks_total = 0;
  int tests_done = 0;
  int tests_total = 0;
  int tests_solved = 0;  // With solutions: test inputs either attempt of which is exact.
  double elapsed_s = 0;
};

struct ArcTestOutcome {
  std::vector<ArcGrid> attempts;  // Two, best first (a single one counts twice); empty: failed.
  std::string error;              // Why it failed, e.g. "NOT_FOUND: ...".
  std::optional<bool> solved;     // With a solution.
  int steps = 0;
  double latency_ms = 0;
};

struct ArcTaskOutcome {
  std::string task_id;
  std::string error;  // The file's fault in this task: nothing was sent for it.
  std::vector<ArcTestOutcome> tests;
  double score = 0;  // The share of its test inputs solved (with solutions).
};

struct ArcRunResult {
  std::vector<ArcTaskOutcome> tasks;  // By task id, the file's bad tasks among them.
  bool scored = false;                // The file came with solutions.
  double score = 0;                   // The sum of the tasks' scores.
  int tests_failed = 0;
  std::string model;  // What answered, as the senders said.
  double wall_s = 0;
};

class ArcRun {
 public:
  struct Job {
    size_t task = 0;  // Index into tasks().
    size_t test = 0;
  };

  // Scored when the file was read with its solutions (then every good task has them).
  explicit ArcRun(ArcTaskFile file);
  ArcRun(const ArcRun&) = delete;
  ArcRun& operator=(const ArcRun&) = delete;

  const std::vector<ArcTask>& tasks() const { return file_.tasks; }
  const std::vector<ArcTaskError>& errors() const { return file_.errors; }
  int jobs() const { return static_cast<int>(jobs_.size()); }

  // The next test input to send, in file order; nullopt once all are taken. Thread-safe.
  std::optional<Job> Take();
  // A job's outcome: attempts (one is counted twice, more than two are cut) or an error; scored
  // against its solution here. Returns the progress after it. Thread-safe; once per job. Callers
  // that publish the progress from several threads record and publish under one lock of theirs,
  // or what they publish can go backwards.
  ArcRunProgress Record(Job job, std::vector<ArcGrid> attempts, std::string error, int steps,
                        double latency_ms, const std::string& model);
  ArcRunProgress progress() const;
  bool done() const;  // Every job recorded.
  // The result, once done().
  ArcRunResult Result() const;

 private:
  const ArcTaskFile file_;
  const double start_s_;
  std::vector<Job> jobs_;

  mutable std::mutex mu_;
  size_t next_ = 0;
  std::vector<std::vector<ArcTestOutcome>> outcomes_;  // [task][test]
  std::vector<int> tests_left_;
  ArcRunProgress progress_;
  std::string model_;
};

// The ARC Prize submission, `{task_id: [{"attempt_1": grid, "attempt_2": grid}, ...]}`, one entry
// per test input in order; a failed test input's entry is [[0]] twice (the format needs a grid);
// a task the file could not give is left out.
std::string ArcSubmissionJson(const ArcRunResult& result);
// Per task: the attempts, solved, steps, latency and errors; counts, score and wall time. On one
// line unless `indent` (nlohmann::json::dump's).
std::string ArcReportJson(const ArcRunResult& result, int indent = -1);
// {"tasks_done": ..., "tasks_total": ..., "tests_done": ..., ...} on one line.
std::string ArcProgressJson(const ArcRunProgress& progress);
// One line per task ("007bbfb7  1/1  1.00") and the score ("score: 1.50 of 4 tasks = 37.5% ...").
std::string FormatArcScore(const ArcRunResult& result);
// "[#####-----] 12/40 tasks  7 solved  ETA 0:42" (no solved count when not scored).
std::string FormatArcProgress(const ArcRunProgress& progress, int width = 30);

}  // namespace trm::puzzle
