#include "puzzle/arc_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace trm::puzzle {
namespace {

using json = nlohmann::json;

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

json GridJson(const ArcGrid& grid) { return ArcGridToRows(grid); }

// printf into a std::string (puzzle/ uses the standard library only).
template <typename... Args>
std::string Format(const char* format, Args... args) {
  const int n = std::snprintf(nullptr, 0, format, args...);
  std::string out(static_cast<size_t>(std::max(n, 0)), '\0');
  std::snprintf(out.data(), out.size() + 1, format, args...);
  return out;
}

}  // namespace

ArcRun::ArcRun(ArcTaskFile file) : file_(std::move(file)), start_s_(NowSeconds()) {
  outcomes_.resize(file_.tasks.size());
  tests_left_.resize(file_.tasks.size());
  for (size_t t = 0; t < file_.tasks.size(); ++t) {
    outcomes_[t].resize(file_.tasks[t].test.size());
    tests_left_[t] = static_cast<int>(file_.tasks[t].test.size());
    for (size_t i = 0; i < file_.tasks[t].test.size(); ++i) jobs_.push_back({t, i});
  }
  progress_.scored = !file_.tasks.empty() && file_.tasks[0].test[0].output.has_value();
  progress_.tasks_total = static_cast<int>(file_.tasks.size() + file_.errors.size());
  progress_.tasks_done = static_cast<int>(file_.errors.size());  // Nothing to send for these.
  progress_.tests_total = static_cast<int>(jobs_.size());
}

std::optional<ArcRun::Job> ArcRun::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_ == jobs_.size()) return std::nullopt;
  return jobs_[next_++];
}

ArcRunProgress ArcRun::Record(Job job, std::vector<ArcGrid> attempts, std::string error, int steps,
                              double latency_ms, const std::string& model) {
  ArcTestOutcome outcome;
  outcome.steps = steps;
  outcome.latency_ms = latency_ms;
  if (error.empty() && attempts.empty()) error = "no attempt in the answer";
  if (!error.empty()) {
    outcome.error = std::move(error);
  } else {
    if (attempts.size() > 2) attempts.resize(2);
    if (attempts.size() == 1) attempts.push_back(attempts[0]);
    outcome.attempts = std::move(attempts);
    const std::optional<ArcGrid>& want = file_.tasks[job.task].test[job.test].output;
    if (want.has_value()) {
      outcome.solved = outcome.attempts[0] == *want || outcome.attempts[1] == *want;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!model.empty()) model_ = model;
  ++progress_.tests_done;
  if (outcome.solved.value_or(false)) ++progress_.tests_solved;
  if (--tests_left_[job.task] == 0) ++progress_.tasks_done;
  progress_.elapsed_s = NowSeconds() - start_s_;
  outcomes_[job.task][job.test] = std::move(outcome);
  return progress_;
}

ArcRunProgress ArcRun::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

bool ArcRun::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_.tests_done == progress_.tests_total;
}

ArcRunResult ArcRun::Result() const {
  std::lock_guard<std::mutex> lock(mu_);
  ArcRunResult result;
  result.scored = progress_.scored;
  result.model = model_;
  for (size_t t = 0; t < file_.tasks.size(); ++t) {
    ArcTaskOutcome task;
    task.task_id = file_.tasks[t].id;
    task.tests = outcomes_[t];
    int solved = 0;
    for (const ArcTestOutcome& test : task.tests) {
      solved += test.solved.value_or(false);
      result.tests_failed += !test.error.empty();
    }
    task.score = task.tests.empty() ? 0.0 : static_cast<double>(solved) / task.tests.size();
    result.score += task.score;
    result.tasks.push_back(std::move(task));
  }
  for (const ArcTaskError& e : file_.errors) {
    ArcTaskOutcome task;
    task.task_id = e.task_id;
    task.error = e.message;
    result.tasks.push_back(std::move(task));
  }
  std::sort(result.tasks.begin(), result.tasks.end(),
            [](const ArcTaskOutcome& a, const ArcTaskOutcome& b) { return a.task_id < b.task_id; });
  result.wall_s = NowSeconds() - start_s_;
  return result;
}

std::string ArcSubmissionJson(const ArcRunResult& result) {
  json submission = json::object();
  const json zero = json::parse("[[0]]");
  for (const ArcTaskOutcome& task : result.tasks) {
    if (!task.error.empty()) continue;
    json entries = json::array();
    for (const ArcTestOutcome& test : task.tests) {
      json entry = json::object();
      entry["attempt_1"] = test.attempts.size() == 2 ? GridJson(test.attempts[0]) : zero;
      entry["attempt_2"] = test.attempts.size() == 2 ? GridJson(test.attempts[1]) : zero;
      entries.push_back(std::move(entry));
    }
    submission[task.task_id] = std::move(entries);
  }
  return submission.dump();
}

std::string ArcReportJson(const ArcRunResult& result, int indent) {
  json tasks = json::object();
  int tests = 0, solved = 0;
  for (const ArcTaskOutcome& task : result.tasks) {
    json t = json::object();
    if (!task.error.empty()) t["error"] = task.error;
    json list = json::array();
    for (const ArcTestOutcome& test : task.tests) {
      json e = json::object();
      e["steps"] = test.steps;
      e["latency_ms"] = test.latency_ms;
      if (!test.error.empty()) e["error"] = test.error;
      if (test.solved.has_value()) e["solved"] = *test.solved;
      for (size_t a = 0; a < test.attempts.size(); ++a) {
        e["attempt_" + std::to_string(a + 1)] = GridJson(test.attempts[a]);
      }
      list.push_back(std::move(e));
      ++tests;
      solved += test.solved.value_or(false);
    }
    t["tests"] = std::move(list);
    if (result.scored) t["score"] = task.score;
    tasks[task.task_id] = std::move(t);
  }
  json report = json::object();
  report["model"] = result.model;
  report["tasks"] = std::move(tasks);
  report["task_count"] = result.tasks.size();
  report["test_count"] = tests;
  report["tests_failed"] = result.tests_failed;
  report["wall_s"] = result.wall_s;
  if (result.scored) {
    report["tests_solved"] = solved;
    report["score"] = result.score;
    report["score_percent"] =
        result.tasks.empty() ? 0.0 : 100.0 * result.score / result.tasks.size();
  }
  return report.dump(indent);
}

std::string ArcProgressJson(const ArcRunProgress& p) {
  json j = json::object();
  j["tasks_done"] = p.tasks_done;
  j["tasks_total"] = p.tasks_total;
  j["tests_done"] = p.tests_done;
  j["tests_total"] = p.tests_total;
  j["tests_solved"] = p.tests_solved;
  j["elapsed_s"] = p.elapsed_s;
  return j.dump();
}

std::string FormatArcScore(const ArcRunResult& result) {
  std::string out;
  for (const ArcTaskOutcome& task : result.tasks) {
    if (!task.error.empty()) {
      out += task.task_id + "  not run: " + task.error + "\n";
      continue;
    }
    int solved = 0;
    std::string errors;
    for (size_t i = 0; i < task.tests.size(); ++i) {
      solved += task.tests[i].solved.value_or(false);
      if (!task.tests[i].error.empty()) {
        errors += "  test " + std::to_string(i) + ": " + task.tests[i].error;
      }
    }
    if (result.scored) {
      out +=
          Format("%s  %d/%zu  %.2f", task.task_id.c_str(), solved, task.tests.size(), task.score) +
          errors + "\n";
    } else if (!errors.empty()) {
      out += task.task_id + errors + "\n";
    }
  }
  const size_t n = result.tasks.size();
  if (result.scored) {
    out += Format("score: %.2f of %zu tasks = %.1f%% (%s, %.1f s)\n", result.score, n,
                  n ? 100.0 * result.score / n : 0.0,
                  result.model.empty() ? "no model answered" : result.model.c_str(), result.wall_s);
  } else {
    out += Format("%zu tasks answered in %.1f s (no solutions: not scored)\n", n, result.wall_s);
  }
  return out;
}

std::string FormatArcProgress(const ArcRunProgress& p, int width) {
  const double done = p.tests_total ? static_cast<double>(p.tests_done) / p.tests_total : 1.0;
  const int filled = static_cast<int>(std::round(done * width));
  std::string out = "[" + std::string(filled, '#') + std::string(width - filled, '-') + "] " +
                    Format("%d/%d tasks", p.tasks_done, p.tasks_total);
  if (p.scored) out += Format("  %d solved", p.tests_solved);
  if (p.tests_done > 0 && p.tests_done < p.tests_total) {
    const int eta =
        static_cast<int>(std::ceil(p.elapsed_s / p.tests_done * (p.tests_total - p.tests_done)));
    out += Format("  ETA %d:%02d", eta / 60, eta % 60);
  }
  return out;
}

}  // namespace trm::puzzle
