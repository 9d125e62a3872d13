// Reading ARC Prize JSON (target trm_puzzle_io, which uses nlohmann-json privately).
//
// `*_challenges.json` maps task id -> {"train": [{"input", "output"}...], "test": [{"input"}...]};
// `*_solutions.json` maps the same id -> the list of test output grids.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "puzzle/arc.h"
#include "puzzle/expected.h"

namespace trm::puzzle {

// Parses a challenges document and, when `solutions_json` is not empty, fills each test
// example's output from it. Tasks come sorted by id. Errors name the task and place:
// `arc json: task 00576224 train[1].input: arc grid: colour 10 at r1c2 is outside 0..9`,
// `arc json: solutions have 1 grids for task abc, it has 2 tests`, `arc json: task abc test: no
// test input`, `arc json: parse error at byte 17: ...`.
Expected<std::vector<ArcTask>> ParseArcTasks(std::string_view challenges_json,
                                             std::string_view solutions_json = {});

// Reads the files; an empty solutions_path reads none. File errors name the path.
Expected<std::vector<ArcTask>> ReadArcTasks(const std::string& challenges_path,
                                            const std::string& solutions_path = {});

// A challenges file read task by task: the tasks that are well formed, and for each one that is
// not, its id and what is wrong (the same messages ParseArcTasks gives). Only a document that is
// not JSON, or not an object, fails as a whole: one bad task does not stop the others.
struct ArcTaskError {
  std::string task_id;
  std::string message;
};
struct ArcTaskFile {
  std::vector<ArcTask> tasks;        // Sorted by id.
  std::vector<ArcTaskError> errors;  // Sorted by task id.
};
Expected<ArcTaskFile> ParseArcTaskFile(std::string_view challenges_json,
                                       std::string_view solutions_json = {});
Expected<ArcTaskFile> ReadArcTaskFile(const std::string& challenges_path,
                                      const std::string& solutions_path = {});

// Checks an ARC Prize submission (`{task_id: [{"attempt_1": grid, "attempt_2": grid}, ...]}`)
// against the tasks it answers: every task there and no other, one entry per test input, both
// attempts valid grids (1..30 a side, rectangular, colours 0-9). The error names the task and
// the field: `submission: task abc[1].attempt_2: arc grid: colour 11 at r1c1 is outside 0..9`.
Expected<void> CheckArcSubmission(std::string_view submission_json,
                                  const std::vector<ArcTask>& tasks);

// One grid as JSON rows, e.g. "[[0,1],[2,3]]" (what clients send).
Expected<ArcGrid> ParseArcGridJson(std::string_view json);
std::string ArcGridToJson(const ArcGrid& grid);

}  // namespace trm::puzzle
