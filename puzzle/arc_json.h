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
// `arc json: solutions have 1 grids for task abc, it has 2 tests`, `arc json: parse error at
// byte 17: ...`.
Expected<std::vector<ArcTask>> ParseArcTasks(std::string_view challenges_json,
                                             std::string_view solutions_json = {});

// Reads the files; an empty solutions_path reads none. File errors name the path.
Expected<std::vector<ArcTask>> ReadArcTasks(const std::string& challenges_path,
                                            const std::string& solutions_path = {});

// One grid as JSON rows, e.g. "[[0,1],[2,3]]" (what clients send).
Expected<ArcGrid> ParseArcGridJson(std::string_view json);
std::string ArcGridToJson(const ArcGrid& grid);

}  // namespace trm::puzzle
