#include "puzzle/arc_run.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace trm::puzzle {
namespace {

// Two good tasks (aaa: two test inputs, bbb: one) with solutions and one bad task.
ArcTaskFile File() {
  auto file = ParseArcTaskFile(
      R"({"bbb": {"train": [], "test": [{"input": [[3, 4]]}]},
          "aaa": {"train": [], "test": [{"input": [[1]]}, {"input": [[2]]}]},
          "bad": {"train": [], "test": []}})",
      R"({"aaa": [[[6]], [[7]]], "bbb": [[[4, 3]]], "bad": []})");
  EXPECT_TRUE(file.ok());
  return *file;
}

ArcGrid Grid(const char* rows) { return *ParseArcGridJson(rows); }

TEST(ArcRun, JobsInFileOrderEachTakenOnceAcrossThreads) {
  ArcRun run(File());
  ASSERT_EQ(run.jobs(), 3);
  std::mutex mu;
  std::set<std::pair<size_t, size_t>> taken;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (auto job = run.Take()) {
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_TRUE(taken.insert({job->task, job->test}).second);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken, (std::set<std::pair<size_t, size_t>>{{0, 0}, {0, 1}, {1, 0}}));
  EXPECT_FALSE(run.Take().has_value());
}

TEST(ArcRun, ScoresTheArcPrizeWayAndWritesTheSubmission) {
  ArcRun run(File());
  EXPECT_EQ(run.progress().tasks_done, 1);  // The bad task: nothing to send.
  EXPECT_EQ(run.progress().tasks_total, 3);
  // aaa[0]: the second attempt is right; aaa[1]: the call failed; bbb[0]: one attempt, right.
  auto p = run.Record({0, 0}, {Grid("[[5]]"), Grid("[[6]]"), Grid("[[6]]")}, "", 3, 10, "m");
  EXPECT_EQ(p.tests_done, 1);
  EXPECT_EQ(p.tests_solved, 1);
  EXPECT_EQ(p.tasks_done, 1);
  p = run.Record({0, 1}, {}, "NOT_FOUND: no such task", 0, 5, "");
  EXPECT_EQ(p.tasks_done, 2);
  EXPECT_FALSE(run.done());
  p = run.Record({1, 0}, {Grid("[[4, 3]]")}, "", 2, 7, "m");
  EXPECT_EQ(p.tasks_done, 3);
  EXPECT_EQ(p.tests_solved, 2);
  ASSERT_TRUE(run.done());

  const ArcRunResult result = run.Result();
  ASSERT_EQ(result.tasks.size(), 3u);
  EXPECT_EQ(result.tasks[0].task_id, "aaa");
  EXPECT_DOUBLE_EQ(result.tasks[0].score, 0.5);
  EXPECT_EQ(result.tasks[1].task_id, "bad");
  EXPECT_EQ(result.tasks[1].error, "arc json: task bad test: no test input");
  EXPECT_DOUBLE_EQ(result.tasks[2].score, 1.0);
  EXPECT_DOUBLE_EQ(result.score, 1.5);
  EXPECT_EQ(result.tests_failed, 1);
  EXPECT_EQ(result.model, "m");

  const nlohmann::json sub = nlohmann::json::parse(ArcSubmissionJson(result));
  EXPECT_EQ(sub, nlohmann::json::parse(R"({
    "aaa": [{"attempt_1": [[5]], "attempt_2": [[6]]}, {"attempt_1": [[0]], "attempt_2": [[0]]}],
    "bbb": [{"attempt_1": [[4, 3]], "attempt_2": [[4, 3]]}]})"));
  auto tasks = ParseArcTasks(R"({"aaa": {"train": [], "test": [{"input": [[1]]}, {"input": [[2]]}]},
                                 "bbb": {"train": [], "test": [{"input": [[3, 4]]}]}})");
  EXPECT_TRUE(CheckArcSubmission(ArcSubmissionJson(result), *tasks).ok());

  const nlohmann::json report = nlohmann::json::parse(ArcReportJson(result));
  EXPECT_EQ(report["score"], 1.5);
  EXPECT_EQ(report["score_percent"], 50.0);
  EXPECT_EQ(report["tests_solved"], 2);
  EXPECT_EQ(report["tasks"]["aaa"]["tests"][1]["error"], "NOT_FOUND: no such task");
  EXPECT_EQ(report["tasks"]["aaa"]["tests"][0]["solved"], true);
  EXPECT_EQ(report["tasks"]["bad"]["error"], "arc json: task bad test: no test input");

  EXPECT_EQ(FormatArcScore(result).substr(0, 101),
            "aaa  1/2  0.50  test 1: NOT_FOUND: no such task\n"
            "bad  not run: arc json: task bad test: no test input\n");
  EXPECT_NE(FormatArcScore(result).find("bbb  1/1  1.00\nscore: 1.50 of 3 tasks = 50.0% (m, "),
            std::string::npos)
      << FormatArcScore(result);
}

TEST(ArcRun, ProgressBar) {
  ArcRunProgress p{.scored = true,
                   .tasks_done = 1,
                   .tasks_total = 4,
                   .tests_done = 1,
                   .tests_total = 4,
                   .tests_solved = 1,
                   .elapsed_s = 10};
  EXPECT_EQ(FormatArcProgress(p, 8), "[##------] 1/4 tasks  1 solved  ETA 0:30");
  p.scored = false;
  EXPECT_EQ(FormatArcProgress(p, 8), "[##------] 1/4 tasks  ETA 0:30");
  p.tests_done = 4;
  p.tasks_done = 4;
  EXPECT_EQ(FormatArcProgress(p, 8), "[########] 4/4 tasks");
  EXPECT_EQ(nlohmann::json::parse(ArcProgressJson(p))["tests_done"], 4);
}

}  // namespace
}  // namespace trm::puzzle
