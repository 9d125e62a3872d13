#include "puzzle/arc_json.h"

#include <gtest/gtest.h>

namespace trm::puzzle {
namespace {

constexpr char kChallenges[] = R"({
  "bbb": {"train": [{"input": [[1, 2]], "output": [[2, 1]]}], "test": [{"input": [[3, 4]]}]},
  "aaa": {"train": [{"input": [[0]], "output": [[5]]}],
          "test": [{"input": [[1]]}, {"input": [[2, 2], [2, 2]]}]}
})";
constexpr char kSolutions[] = R"({"aaa": [[[6]], [[7, 7], [7, 7]]], "bbb": [[[4, 3]]]})";

TEST(ArcJson, ParsesTasksSortedWithSolutions) {
  auto tasks = ParseArcTasks(kChallenges, kSolutions);
  ASSERT_TRUE(tasks.ok()) << tasks.error().message;
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].id, "aaa");
  EXPECT_EQ((*tasks)[0].test.size(), 2u);
  ASSERT_TRUE((*tasks)[0].test[1].output.has_value());
  EXPECT_EQ((*tasks)[0].test[1].output->rows, 2);
  EXPECT_EQ((*tasks)[0].test[1].output->at(1, 1), 7);
  EXPECT_EQ((*tasks)[1].train[0].output->at(0, 0), 2);
  auto no_solutions = ParseArcTasks(kChallenges);
  ASSERT_TRUE(no_solutions.ok());
  EXPECT_FALSE((*no_solutions)[0].test[0].output.has_value());
}

TEST(ArcJson, ErrorsNameTaskAndPlace) {
  EXPECT_EQ(
      ParseArcTasks(R"({"t": {"train": [{"input": [[1, 10]], "output": [[1]]}], "test": []}})")
          .error()
          .message,
      "arc json: task t train[0].input: arc grid: colour 10 at r1c2 is outside 0..9");
  EXPECT_EQ(ParseArcTasks(R"({"t": {"train": [{"input": [[1]]}], "test": []}})").error().message,
            "arc json: task t train[0]: no \"output\"");
  EXPECT_EQ(ParseArcTasks(R"({"t": {"train": []}})").error().message,
            "arc json: task t: no \"test\"");
  EXPECT_EQ(
      ParseArcTasks(R"({"t": {"train": [], "test": [{"input": [[1], [2, 3]]}]}})").error().message,
      "arc json: task t test[0].input: arc grid: row 2 has 2 cells, row 1 has 1");
  EXPECT_EQ(ParseArcTasks(R"({"t": {"train": [], "test": [{"input": [["x"]]}]}})").error().message,
            "arc json: task t test[0].input: arc grid: cell r1c1 is not an integer");
  EXPECT_EQ(ParseArcTasks("[1]").error().message,
            "arc json: challenges: expected an object of task id -> task");
  auto bad = ParseArcTasks("{\"t\": [1,}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("arc json: challenges: parse error at byte 10: ", 0), 0u)
      << bad.error().message;
  EXPECT_EQ(ParseArcTasks(kChallenges, R"({"aaa": [[[6]]], "bbb": [[[4, 3]]]})").error().message,
            "arc json: solutions have 1 grids for task aaa, it has 2 tests");
  EXPECT_EQ(ParseArcTasks(kChallenges, R"({"aaa": [[[6]], [[7]]]})").error().message,
            "arc json: solutions have no task bbb");
  EXPECT_EQ(
      ParseArcTasks(kChallenges, R"({"aaa": [[[6]], [[17]]], "bbb": [[[1]]]})").error().message,
      "arc json: solutions aaa[1]: arc grid: colour 17 at r1c1 is outside 0..9");
  EXPECT_EQ(ReadArcTasks("/nonexistent.json").error().message,
            "cannot read /nonexistent.json: No such file or directory");
  EXPECT_EQ(ParseArcTasks(R"({"t": {"train": [], "test": []}})").error().message,
            "arc json: task t test: no test input");
}

TEST(ArcTaskFile, OneBadTaskDoesNotStopTheOthers) {
  // A 31-row grid, a colour out of range, a ragged row, no test input, no solution: each names
  // its task and field; the good task is read with its solution.
  std::string tall = "[";
  for (int r = 0; r < 31; ++r) tall += std::string(r ? "," : "") + "[1]";
  tall += "]";
  const std::string challenges = R"({
    "good": {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]]}]},
    "tall": {"train": [], "test": [{"input": )" +
                                 tall + R"(}]},
    "colour": {"train": [{"input": [[1]], "output": [[12]]}], "test": [{"input": [[1]]}]},
    "ragged": {"train": [], "test": [{"input": [[1, 2], [3]]}]},
    "notest": {"train": [{"input": [[1]], "output": [[2]]}], "test": []},
    "nosolution": {"train": [], "test": [{"input": [[1]]}]}
  })";
  auto file = ParseArcTaskFile(challenges, R"({"good": [[[4]]], "tall": [[[1]]], "colour": [[[1]]],
                                               "ragged": [[[1]]], "notest": []})");
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_EQ(file->tasks.size(), 1u);
  EXPECT_EQ(file->tasks[0].id, "good");
  EXPECT_EQ(file->tasks[0].test[0].output->at(0, 0), 4);
  std::vector<std::string> errors;
  for (const auto& e : file->errors) errors.push_back(e.task_id + " | " + e.message);
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "colour | arc json: task colour train[0].output: arc grid: colour 12 at "
                        "r1c1 is outside 0..9",
                        "nosolution | arc json: solutions have no task nosolution",
                        "notest | arc json: task notest test: no test input",
                        "ragged | arc json: task ragged test[0].input: arc grid: row 2 has 1 "
                        "cells, row 1 has 2",
                        "tall | arc json: task tall test[0].input: arc grid: 31 rows exceed 30",
                    }));
  // A document that is not JSON fails as a whole, naming the file.
  EXPECT_EQ(ParseArcTaskFile("[1]").error().message,
            "arc json: challenges: expected an object of task id -> task");
  EXPECT_EQ(ReadArcTaskFile("/nonexistent.json").error().message,
            "cannot read /nonexistent.json: No such file or directory");
}

// Found by arc_json_fuzzer: a float too large for a double made the error path throw.
TEST(ArcJson, NumberOverflowIsAnErrorNotACrash) {
  auto r = ParseArcTasks(" [[4e5555555555555555555555555555]}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "arc json: challenges: [json.exception.out_of_range.406] number overflow parsing "
            "'4e5555555555555555555555555555'");
  EXPECT_EQ(ParseArcGridJson("[[4e5555555555555555555555555555]]").error().message,
            "arc grid: not valid JSON");
}

TEST(ArcJson, SingleGrid) {
  auto g = ParseArcGridJson("[[0, 1], [2, 3]]");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->at(1, 0), 2);
  EXPECT_EQ(ArcGridToJson(*g), "[[0,1],[2,3]]");
  EXPECT_EQ(*ParseArcGridJson(ArcGridToJson(*g)), *g);
  EXPECT_EQ(ParseArcGridJson("[[").error().message, "arc grid: not valid JSON");
  EXPECT_EQ(ParseArcGridJson("{}").error().message, "arc grid: expected a list of rows");
  EXPECT_EQ(ParseArcGridJson("[1]").error().message, "arc grid: row 1 is not a list");
  EXPECT_EQ(ParseArcGridJson("[]").error().message, "arc grid: empty");
}

TEST(ArcSubmission, AcceptsTheArcPrizeFormatAndNamesEachFault) {
  auto tasks = ParseArcTasks(kChallenges);
  ASSERT_TRUE(tasks.ok());
  const std::string good = R"({"aaa": [{"attempt_1": [[6]], "attempt_2": [[1]]},
                                       {"attempt_1": [[7, 7]], "attempt_2": [[7], [7]]}],
                               "bbb": [{"attempt_1": [[4, 3]], "attempt_2": [[4, 3]]}]})";
  EXPECT_TRUE(CheckArcSubmission(good, *tasks).ok());
  auto error = [&](const std::string& text) {
    auto r = CheckArcSubmission(text, *tasks);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(error(R"({"aaa": []})"), "submission: task aaa: 0 entries for 2 test inputs");
  EXPECT_EQ(error(R"({"aaa": [{"attempt_1": [[1]], "attempt_2": [[1]]},
                              {"attempt_1": [[1]], "attempt_2": [[1]]}]})"),
            "submission: task bbb: missing");
  EXPECT_EQ(error(R"({"aaa": [{"attempt_1": [[1]], "attempt_2": [[1]]},
                              {"attempt_1": [[1]]}],
                      "bbb": [{"attempt_1": [[1]], "attempt_2": [[1]]}]})"),
            "submission: task aaa[1]: no \"attempt_2\"");
  EXPECT_EQ(error(R"({"aaa": [{"attempt_1": [[1]], "attempt_2": [[1]]},
                              {"attempt_1": [[1]], "attempt_2": [[11]]}],
                      "bbb": [{"attempt_1": [[1]], "attempt_2": [[1]]}]})"),
            "submission: task aaa[1].attempt_2: arc grid: colour 11 at r1c1 is outside 0..9");
  EXPECT_EQ(error(R"({"aaa": [{"attempt_1": [[1]], "attempt_2": [[1]]},
                              {"attempt_1": [[1]], "attempt_2": [[1]]}],
                      "bbb": [{"attempt_1": [[1]], "attempt_2": [[1]]}],
                      "ccc": []})"),
            "submission: task ccc: not in the challenges");
  EXPECT_EQ(error("[]"), "submission: expected an object of task id -> attempts");
}

}  // namespace
}  // namespace trm::puzzle
