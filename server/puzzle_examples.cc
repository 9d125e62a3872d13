#include "server/puzzle_examples.h"

#include "absl/strings/str_cat.h"
#include "puzzle/maze_generator.h"
#include "puzzle/sudoku_generator.h"

namespace trm::server {
namespace {

struct Band {
  int lo, hi;  // hi < 0: no upper bound.
};

absl::StatusOr<int> BandIndex(std::string_view difficulty) {
  if (difficulty == "easy") return 0;
  if (difficulty.empty() || difficulty == "medium") return 1;
  if (difficulty == "hard") return 2;
  return absl::InvalidArgumentError(absl::StrCat(
      "difficulty \"", std::string(difficulty.substr(0, 32)), "\": use easy, medium or hard"));
}

}  // namespace

absl::StatusOr<trm::v1::SolveRequest> ExamplePuzzle(const engine::ModelInfo& model,
                                                    std::string_view difficulty, uint64_t seed) {
  absl::StatusOr<int> band = BandIndex(difficulty);
  if (!band.ok()) return band.status();
  trm::v1::SolveRequest request;
  request.set_model(model.name);
  if (model.task == engine::TaskKind::kSudoku) {
    constexpr Band kGivens[] = {{42, 49}, {34, 41}, {28, 33}};
    puzzle::SudokuGeneratorOptions options;
    options.seed = seed;
    options.min_givens = kGivens[*band].lo;
    options.max_givens = kGivens[*band].hi;
    auto generated = puzzle::SudokuGenerator(options).Next();
    if (!generated.ok()) return absl::InternalError(generated.error().message);
    request.set_sudoku(puzzle::SudokuToString(generated->puzzle));
    return request;
  }
  if (model.task == engine::TaskKind::kMaze) {
    constexpr Band kPaths[] = {{4, 11}, {12, 20}, {21, -1}};
    puzzle::MazeGeneratorOptions options;
    options.seed = seed;
    options.side = model.maze_side > 0 ? model.maze_side : puzzle::kMazeMaxSide;
    options.min_path_length = kPaths[*band].lo;
    options.max_path_length = kPaths[*band].hi;
    auto generated = puzzle::MazeGenerator(options).Next();
    if (!generated.ok()) return absl::InternalError(generated.error().message);
    for (const auto& row : puzzle::MazeToRows(generated->puzzle)) {
      request.mutable_maze()->add_rows(row);
    }
    return request;
  }
  return absl::InvalidArgumentError(absl::StrCat("model \"", model.name, "\" serves ",
                                                 engine::TaskKindName(model.task),
                                                 " puzzles; examples exist for sudoku and maze"));
}

}  // namespace trm::server
