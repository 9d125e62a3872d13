#include "puzzle/arc_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "puzzle/puzzle_file.h"

namespace trm::puzzle {
namespace {

using json = nlohmann::json;

// A JSON value that must be a list of lists of integers 0-9.
Expected<ArcGrid> GridFromJson(const json& j) {
  if (!j.is_array()) return Error{"arc grid: expected a list of rows"};
  std::vector<std::vector<int>> rows;
  rows.reserve(j.size());
  for (size_t r = 0; r < j.size(); ++r) {
    const json& row = j[r];
    if (!row.is_array()) {
      return Error{"arc grid: row " + std::to_string(r + 1) + " is not a list"};
    }
    std::vector<int> cells;
    cells.reserve(row.size());
    for (size_t c = 0; c < row.size(); ++c) {
      const json& v = row[c];
      if (!v.is_number_integer()) {
        return Error{"arc grid: cell r" + std::to_string(r + 1) + "c" + std::to_string(c + 1) +
                     " is not an integer"};
      }
      int64_t x = v.get<int64_t>();
      cells.push_back(x < -1 || x > 1000 ? -1 : static_cast<int>(x));
      if (x < 0 || x > 9) {
        return Error{"arc grid: colour " + std::to_string(x) + " at r" + std::to_string(r + 1) +
                     "c" + std::to_string(c + 1) + " is outside 0..9"};
      }
    }
    rows.push_back(std::move(cells));
    if (rows.size() > kArcMaxSide) break;  // ArcGridFromRows reports it.
  }
  return ArcGridFromRows(rows);
}

Expected<std::vector<ArcExample>> ExamplesFromJson(const json& j, const std::string& where,
                                                   bool need_output) {
  if (!j.is_array()) return Error{where + ": expected a list of examples"};
  std::vector<ArcExample> examples;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string at = where + "[" + std::to_string(i) + "]";
    const json& e = j[i];
    if (!e.is_object() || !e.contains("input")) return Error{at + ": no \"input\""};
    ArcExample example;
    auto input = GridFromJson(e["input"]);
    if (!input.ok()) return Error{at + ".input: " + input.error().message};
    example.input = std::move(input).value();
    if (e.contains("output")) {
      auto output = GridFromJson(e["output"]);
      if (!output.ok()) return Error{at + ".output: " + output.error().message};
      example.output = std::move(output).value();
    } else if (need_output) {
      return Error{at + ": no \"output\""};
    }
    examples.push_back(std::move(example));
  }
  return examples;
}

Expected<json> Parse(std::string_view text, const std::string& what) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Re-parse with exceptions for the position and reason (only on the error path). Number
    // overflow throws out_of_range rather than parse_error (found by arc_json_fuzzer).
    try {
      [[maybe_unused]] json ignored = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
      return Error{"arc json: " + what + ": parse error at byte " + std::to_string(e.byte) + ": " +
                   e.what()};
    } catch (const json::exception& e) {
      return Error{"arc json: " + what + ": " + e.what()};
    }
    return Error{"arc json: " + what + ": parse error"};
  }
  return j;
}

}  // namespace

namespace {

// The two documents, checked to be objects (solutions null when there are none).
struct ArcDocuments {
  json challenges;
  json solutions;
};

Expected<ArcDocuments> ParseDocuments(std::string_view challenges_json,
                                      std::string_view solutions_json) {
  ArcDocuments docs;
  auto challenges = Parse(challenges_json, "challenges");
  if (!challenges.ok()) return challenges.error();
  docs.challenges = std::move(challenges).value();
  if (!docs.challenges.is_object()) {
    return Error{"arc json: challenges: expected an object of task id -> task"};
  }
  if (!solutions_json.empty()) {
    auto parsed = Parse(solutions_json, "solutions");
    if (!parsed.ok()) return parsed.error();
    docs.solutions = std::move(parsed).value();
    if (!docs.solutions.is_object()) {
      return Error{"arc json: solutions: expected an object of task id -> grids"};
    }
  }
  return docs;
}

// One task of the challenges document, with its test outputs from the solutions when there are
// any.
Expected<ArcTask> TaskFromJson(const std::string& id, const json& task_json,
                               const json& solutions) {
  std::string where = "arc json: task " + id;
  if (!task_json.is_object()) return Error{where + ": expected an object"};
  ArcTask task;
  task.id = id;
  if (!task_json.contains("train")) return Error{where + ": no \"train\""};
  if (!task_json.contains("test")) return Error{where + ": no \"test\""};
  auto train = ExamplesFromJson(task_json["train"], where + " train", /*need_output=*/true);
  if (!train.ok()) return train.error();
  auto test = ExamplesFromJson(task_json["test"], where + " test", /*need_output=*/false);
  if (!test.ok()) return test.error();
  if (test->empty()) return Error{where + " test: no test input"};
  task.train = std::move(train).value();
  task.test = std::move(test).value();
  if (!solutions.is_null()) {
    if (!solutions.contains(id)) return Error{"arc json: solutions have no task " + id};
    const json& grids = solutions[id];
    if (!grids.is_array() || grids.size() != task.test.size()) {
      return Error{"arc json: solutions have " +
                   std::to_string(grids.is_array() ? grids.size() : 0) + " grids for task " + id +
                   ", it has " + std::to_string(task.test.size()) + " tests"};
    }
    for (size_t i = 0; i < grids.size(); ++i) {
      auto grid = GridFromJson(grids[i]);
      if (!grid.ok()) {
        return Error{"arc json: solutions " + id + "[" + std::to_string(i) +
                     "]: " + grid.error().message};
      }
      task.test[i].output = std::move(grid).value();
    }
  }
  return task;
}

void SortById(std::vector<ArcTask>& tasks) {
  std::sort(tasks.begin(), tasks.end(),
            [](const ArcTask& a, const ArcTask& b) { return a.id < b.id; });
}

}  // namespace

Expected<std::vector<ArcTask>> ParseArcTasks(std::string_view challenges_json,
                                             std::string_view solutions_json) {
  auto docs = ParseDocuments(challenges_json, solutions_json);
  if (!docs.ok()) return docs.error();
  std::vector<ArcTask> tasks;
  for (const auto& [id, task_json] : docs->challenges.items()) {
    auto task = TaskFromJson(id, task_json, docs->solutions);
    if (!task.ok()) return task.error();
    tasks.push_back(std::move(task).value());
  }
  SortById(tasks);
  return tasks;
}

Expected<ArcTaskFile> ParseArcTaskFile(std::string_view challenges_json,
                                       std::string_view solutions_json) {
  auto docs = ParseDocuments(challenges_json, solutions_json);
  if (!docs.ok()) return docs.error();
  ArcTaskFile file;
  for (const auto& [id, task_json] : docs->challenges.items()) {
    auto task = TaskFromJson(id, task_json, docs->solutions);
    if (task.ok()) {
      file.tasks.push_back(std::move(task).value());
    } else {
      file.errors.push_back({id, task.error().message});
    }
  }
  SortById(file.tasks);
  return file;  // nlohmann's objects iterate by key: the errors are sorted by task id too.
}

namespace {

// Reads the challenges file and, when its path is given, the solutions file, and parses them with
// `parse`; errors name the file.
template <typename Parsed>
Expected<Parsed> ReadAndParse(const std::string& challenges_path, const std::string& solutions_path,
                              Expected<Parsed> (*parse)(std::string_view, std::string_view)) {
  auto challenges = ReadTextFile(challenges_path);
  if (!challenges.ok()) return challenges.error();
  std::string solutions;
  if (!solutions_path.empty()) {
    auto read = ReadTextFile(solutions_path);
    if (!read.ok()) return read.error();
    solutions = std::move(read).value();
  }
  auto parsed = parse(*challenges, solutions);
  if (!parsed.ok()) return Error{challenges_path + ": " + parsed.error().message};
  return parsed;
}

}  // namespace

Expected<std::vector<ArcTask>> ReadArcTasks(const std::string& challenges_path,
                                            const std::string& solutions_path) {
  return ReadAndParse(challenges_path, solutions_path, &ParseArcTasks);
}

Expected<ArcTaskFile> ReadArcTaskFile(const std::string& challenges_path,
                                      const std::string& solutions_path) {
  return ReadAndParse(challenges_path, solutions_path, &ParseArcTaskFile);
}

Expected<void> CheckArcSubmission(std::string_view submission_json,
                                  const std::vector<ArcTask>& tasks) {
  auto parsed = Parse(submission_json, "submission");
  if (!parsed.ok()) return parsed.error();  // "arc json: submission: parse error at byte ..."
  const json& submission = *parsed;
  if (!submission.is_object()) {
    return Error{"submission: expected an object of task id -> attempts"};
  }
  for (const ArcTask& task : tasks) {
    const std::string where = "submission: task " + task.id;
    if (!submission.contains(task.id)) return Error{where + ": missing"};
    const json& entries = submission[task.id];
    if (!entries.is_array() || entries.size() != task.test.size()) {
      return Error{where + ": " + std::to_string(entries.is_array() ? entries.size() : 0) +
                   " entries for " + std::to_string(task.test.size()) + " test inputs"};
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      if (!entries[i].is_object()) return Error{at + ": expected an object of attempts"};
      for (const char* attempt : {"attempt_1", "attempt_2"}) {
        if (!entries[i].contains(attempt)) return Error{at + ": no \"" + attempt + "\""};
        auto grid = GridFromJson(entries[i][attempt]);
        if (!grid.ok()) return Error{at + "." + attempt + ": " + grid.error().message};
      }
    }
  }
  if (submission.size() != tasks.size()) {
    for (const auto& item : submission.items()) {
      const std::string& id = item.key();  // Not a structured binding: clang cannot capture one.
      const bool known =
          std::any_of(tasks.begin(), tasks.end(), [&](const ArcTask& t) { return t.id == id; });
      if (!known) return Error{"submission: task " + id + ": not in the challenges"};
    }
  }
  return Ok();
}

Expected<ArcGrid> ParseArcGridJson(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error{"arc grid: not valid JSON"};
  return GridFromJson(j);
}

std::string ArcGridToJson(const ArcGrid& grid) { return json(ArcGridToRows(grid)).dump(); }

}  // namespace trm::puzzle
