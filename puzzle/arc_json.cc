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

Expected<std::vector<ArcTask>> ParseArcTasks(std::string_view challenges_json,
                                             std::string_view solutions_json) {
  auto challenges = Parse(challenges_json, "challenges");
  if (!challenges.ok()) return challenges.error();
  if (!challenges->is_object()) {
    return Error{"arc json: challenges: expected an object of task id -> task"};
  }
  json solutions;
  if (!solutions_json.empty()) {
    auto parsed = Parse(solutions_json, "solutions");
    if (!parsed.ok()) return parsed.error();
    solutions = std::move(parsed).value();
    if (!solutions.is_object()) {
      return Error{"arc json: solutions: expected an object of task id -> grids"};
    }
  }
  std::vector<ArcTask> tasks;
  for (const auto& [id, task_json] : challenges->items()) {
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
    tasks.push_back(std::move(task));
  }
  std::sort(tasks.begin(), tasks.end(),
            [](const ArcTask& a, const ArcTask& b) { return a.id < b.id; });
  return tasks;
}

Expected<std::vector<ArcTask>> ReadArcTasks(const std::string& challenges_path,
                                            const std::string& solutions_path) {
  auto challenges = ReadTextFile(challenges_path);
  if (!challenges.ok()) return challenges.error();
  std::string solutions;
  if (!solutions_path.empty()) {
    auto read = ReadTextFile(solutions_path);
    if (!read.ok()) return read.error();
    solutions = std::move(read).value();
  }
  auto tasks = ParseArcTasks(*challenges, solutions);
  if (!tasks.ok()) return Error{challenges_path + ": " + tasks.error().message};
  return tasks;
}

Expected<ArcGrid> ParseArcGridJson(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error{"arc grid: not valid JSON"};
  return GridFromJson(j);
}

std::string ArcGridToJson(const ArcGrid& grid) { return json(ArcGridToRows(grid)).dump(); }

}  // namespace trm::puzzle
