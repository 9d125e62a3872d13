#include "bench/eval_set.h"

#include "absl/strings/str_cat.h"
#include "puzzle/dataset.h"
#include "puzzle/maze.h"
#include "puzzle/maze_solver.h"
#include "puzzle/puzzle_file.h"
#include "puzzle/sudoku.h"
#include "puzzle/sudoku_solver.h"

namespace trm::bench {

absl::StatusOr<std::vector<EvalExample>> ReadPuzzleFile(const std::string& path,
                                                        const std::string& task, int maze_side,
                                                        int limit) {
  auto content = puzzle::ReadTextFile(path);
  if (!content) return absl::NotFoundError(content.error().message);
  std::vector<EvalExample> out;
  if (task == "sudoku") {
    for (const auto& record : puzzle::SplitSudokuFile(*content)) {
      if (limit > 0 && static_cast<int>(out.size()) >= limit) break;
      const std::string where = absl::StrCat(path, ":", record.line);
      auto grid = puzzle::ParseValidSudoku(record.text);
      if (!grid) return absl::InvalidArgumentError(absl::StrCat(where, ": ", grid.error().message));
      puzzle::SudokuSolveResult solved = puzzle::SolveSudoku(*grid);
      if (!solved.unique()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": puzzle has ", solved.num_solutions, solved.aborted ? "+" : "",
                         " solutions; trm-eval scores puzzles with exactly one"));
      }
      out.push_back(
          {where, puzzle::SudokuToTokens(*grid), puzzle::SudokuToTokens(solved.solution)});
    }
  } else if (task == "maze") {
    for (const auto& record : puzzle::SplitMazeFile(*content)) {
      if (limit > 0 && static_cast<int>(out.size()) >= limit) break;
      const std::string where = absl::StrCat(path, ":", record.line);
      auto maze = puzzle::ParseMaze(record.text);
      if (!maze) return absl::InvalidArgumentError(absl::StrCat(where, ": ", maze.error().message));
      puzzle::Maze question = *maze, answer;
      bool has_path = false;
      for (auto& c : question.cells) {
        if (c == puzzle::kMazePath) {
          c = puzzle::kMazeOpen;
          has_path = true;
        }
      }
      if (auto ok = puzzle::ValidateMaze(question); !ok) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", ok.error().message));
      }
      if (has_path) {
        answer = *maze;
      } else {
        puzzle::MazeSolveResult solved = puzzle::SolveMaze(question);
        if (!solved.solvable) {
          return absl::InvalidArgumentError(absl::StrCat(where, ": maze has no path from S to G"));
        }
        answer = solved.solution;
      }
      auto in = puzzle::MazeToTokens(question, maze_side);
      auto label = puzzle::MazeToTokens(answer, maze_side);
      if (!in || !label) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", in ? label.error().message : in.error().message));
      }
      EvalExample e{where, *in, *label};
      e.maze_rows = question.rows;
      e.maze_cols = question.cols;
      out.push_back(std::move(e));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--task \"", task, "\": puzzle files hold sudoku or maze puzzles"));
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no puzzles"));
  return out;
}

absl::StatusOr<std::vector<EvalExample>> ReadDatasetExamples(const std::string& dir,
                                                             const std::string& split, int limit) {
  auto data = puzzle::ReadDatasetSplit(dir, split);
  if (!data) return absl::InvalidArgumentError(data.error().message);
  const puzzle::DatasetSet& set = data->set;
  const int seq = set.seq_len;
  std::vector<EvalExample> out;
  size_t puzzle_index = 0;
  for (int64_t i = 0; i < set.num_examples(); ++i) {
    if (limit > 0 && static_cast<int>(out.size()) >= limit) break;
    while (puzzle_index + 1 < set.puzzle_indices.size() &&
           set.puzzle_indices[puzzle_index + 1] <= i) {
      ++puzzle_index;
    }
    EvalExample e;
    e.name = absl::StrCat(split, "#", i);
    e.input.assign(set.inputs.begin() + i * seq, set.inputs.begin() + (i + 1) * seq);
    e.label.assign(set.labels.begin() + i * seq, set.labels.begin() + (i + 1) * seq);
    if (data->metadata.ignore_label_id) {
      for (auto& t : e.label) {
        if (t == *data->metadata.ignore_label_id) t = kIgnore;
      }
    }
    e.puzzle_identifier =
        puzzle_index < set.puzzle_identifiers.size() ? set.puzzle_identifiers[puzzle_index] : 0;
    out.push_back(std::move(e));
  }
  if (out.empty())
    return absl::InvalidArgumentError(absl::StrCat(dir, "/", split, ": no examples"));
  return out;
}

}  // namespace trm::bench
