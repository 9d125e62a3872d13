#include "server/request_codec.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "puzzle/dihedral.h"
#include "puzzle/maze_solver.h"
#include "puzzle/sudoku_solver.h"

namespace trm::server {
namespace {

using engine::TaskKind;

absl::Status Invalid(const puzzle::Error& error) {
  return absl::InvalidArgumentError(error.message);
}

absl::Status CheckRange(const char* field, double value, double lo, double hi) {
  // Written so NaN (which compares false with everything) is rejected too.
  if (!(value >= lo && value <= hi)) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.", field, ": ", value, " is outside ", lo, "..", hi));
  }
  return absl::OkStatus();
}

absl::Status CheckTokens(const trm::v1::TokenPuzzle& tokens, const engine::ModelInfo& model) {
  if (tokens.tokens_size() != model.seq_len) {
    return absl::InvalidArgumentError(absl::StrCat("tokens: model \"", model.name, "\" takes ",
                                                   model.seq_len, " tokens, got ",
                                                   tokens.tokens_size()));
  }
  for (int i = 0; i < tokens.tokens_size(); ++i) {
    if (tokens.tokens(i) < 0 || tokens.tokens(i) >= model.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("tokens: token ", tokens.tokens(i),
                                                     " at position ", i, " is outside 0..",
                                                     model.vocab_size - 1));
    }
  }
  const int ids = model.num_puzzle_identifiers;
  if (tokens.puzzle_identifier() < 0 || (ids > 0 && tokens.puzzle_identifier() >= ids)) {
    return absl::InvalidArgumentError(absl::StrCat("tokens: puzzle_identifier ",
                                                   tokens.puzzle_identifier(), " is outside 0..",
                                                   ids > 0 ? ids - 1 : 0));
  }
  return absl::OkStatus();
}

// An ARC grid of the request; errors name the field (`arc: train[1].output: arc grid: ...`).
absl::StatusOr<puzzle::ArcGrid> ArcGridFromProto(const trm::v1::Grid& g, const std::string& field) {
  std::vector<int32_t> cells(g.cells().begin(), g.cells().end());
  if (static_cast<int64_t>(g.rows()) * g.cols() != static_cast<int64_t>(cells.size())) {
    return absl::InvalidArgumentError(absl::StrCat("arc: ", field, " is ", g.rows(), "x", g.cols(),
                                                   " but has ", cells.size(), " cells"));
  }
  auto grid = puzzle::ArcGridFromCells(g.rows(), g.cols(), cells);
  if (!grid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("arc: ", field, ": ", grid.error().message));
  }
  return *std::move(grid);
}

}  // namespace

absl::Status CheckStringLimits(const trm::v1::SolveRequest& request) {
  const struct {
    const char* field;
    size_t size, limit;
  } strings[] = {
      {"request_id", request.request_id().size(), kMaxRequestIdBytes},
      {"model", request.model().size(), kMaxModelNameBytes},
      {"arc.task_id", request.arc().task_id().size(), kMaxArcTaskIdBytes},
  };
  for (const auto& s : strings) {
    if (s.size > s.limit) {
      return absl::InvalidArgumentError(
          absl::StrCat(s.field, ": ", s.size, " bytes, the limit is ", s.limit));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TaskKind> RequestKind(const trm::v1::SolveRequest& request) {
  switch (request.puzzle_case()) {
    case trm::v1::SolveRequest::kSudoku:
      return TaskKind::kSudoku;
    case trm::v1::SolveRequest::kMaze:
      return TaskKind::kMaze;
    case trm::v1::SolveRequest::kArc:
      return TaskKind::kArc;
    case trm::v1::SolveRequest::kTokens:
      return TaskKind::kTokens;
    case trm::v1::SolveRequest::PUZZLE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("request: no puzzle set (one of sudoku, maze, arc, tokens)");
}

absl::StatusOr<EncodedPuzzle> EncodePuzzle(const trm::v1::SolveRequest& request,
                                           const engine::ModelInfo& model) {
  absl::StatusOr<TaskKind> kind = RequestKind(request);
  if (!kind.ok()) return kind.status();
  EncodedPuzzle out;
  out.kind = *kind;
  if (*kind != TaskKind::kTokens && *kind != model.task) {
    return absl::InvalidArgumentError(absl::StrCat("model \"", model.name, "\" serves ",
                                                   engine::TaskKindName(model.task),
                                                   " puzzles, not ", engine::TaskKindName(*kind)));
  }
  switch (*kind) {
    case TaskKind::kSudoku: {
      auto grid = puzzle::ParseValidSudoku(request.sudoku());
      if (!grid.ok()) return Invalid(grid.error());
      out.sudoku = *grid;
      out.tokens = puzzle::SudokuToTokens(out.sudoku);
      break;
    }
    case TaskKind::kMaze: {
      std::vector<std::string> rows(request.maze().rows().begin(), request.maze().rows().end());
      auto maze = puzzle::ParseMazeRows(rows);
      if (!maze.ok()) return Invalid(maze.error());
      if (auto valid = puzzle::ValidateMaze(*maze); !valid.ok()) return Invalid(valid.error());
      out.maze = *maze;
      out.maze_side = model.maze_side > 0 ? model.maze_side : puzzle::kMazeMaxSide;
      if (out.maze.rows > out.maze_side || out.maze.cols > out.maze_side) {
        return absl::InvalidArgumentError(absl::StrCat(
            "maze: ", out.maze.rows, "x", out.maze.cols, " does not fit model \"", model.name,
            "\", which takes mazes up to ", out.maze_side, "x", out.maze_side));
      }
      auto tokens = puzzle::MazeToTokens(out.maze, out.maze_side);
      if (!tokens.ok()) return Invalid(tokens.error());
      out.tokens = std::move(*tokens);
      break;
    }
    case TaskKind::kArc: {
      const auto& arc = request.arc();
      if (arc.task_id().empty()) return absl::InvalidArgumentError("arc: task_id is empty");
      auto grid = ArcGridFromProto(arc.input(), "input");
      if (!grid.ok()) return grid.status();
      out.arc_task_id = arc.task_id();
      out.arc_input = std::move(*grid);
      if (arc.train_size() > kMaxArcTrainPairs) {
        return absl::InvalidArgumentError(absl::StrCat("arc: train has ", arc.train_size(),
                                                       " pairs, the limit is ", kMaxArcTrainPairs));
      }
      for (int i = 0; i < arc.train_size(); ++i) {
        auto input = ArcGridFromProto(arc.train(i).input(), absl::StrCat("train[", i, "].input"));
        if (!input.ok()) return input.status();
        auto output =
            ArcGridFromProto(arc.train(i).output(), absl::StrCat("train[", i, "].output"));
        if (!output.ok()) return output.status();
        out.arc_train.push_back({*std::move(input), *std::move(output)});
      }
      break;
    }
    case TaskKind::kTokens: {
      if (absl::Status s = CheckTokens(request.tokens(), model); !s.ok()) return s;
      out.tokens.assign(request.tokens().tokens().begin(), request.tokens().tokens().end());
      out.puzzle_identifier = request.tokens().puzzle_identifier();
      break;
    }
  }
  return out;
}

absl::StatusOr<engine::HaltOptions> ToHaltOptions(const trm::v1::SolveOptions& options,
                                                  const engine::ModelInfo& model,
                                                  const HaltDefaults& defaults) {
  if (auto s = CheckRange("max_steps", options.max_steps(), 0, engine::kMaxStepsLimit); !s.ok())
    return s;
  if (auto s = CheckRange("min_steps", options.min_steps(), 0, engine::kMaxStepsLimit); !s.ok())
    return s;
  if (auto s = CheckRange("halt_threshold", options.halt_threshold(), 0, 1); !s.ok()) return s;
  engine::HaltOptions halt;
  halt.max_steps = options.max_steps() > 0 ? options.max_steps() : defaults.max_steps;
  halt.min_steps = options.min_steps() > 0 ? options.min_steps() : defaults.min_steps;
  halt.halt_threshold =
      options.halt_threshold() > 0 ? options.halt_threshold() : defaults.halt_threshold;
  halt.ignore_halting = options.ignore_halting();
  const int max_steps = halt.max_steps > 0 ? halt.max_steps : model.halt_max_steps;
  if (halt.min_steps > max_steps) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.min_steps: ", halt.min_steps, " exceeds max_steps ", max_steps));
  }
  return halt;
}

absl::Status CheckViewOptions(const trm::v1::SolveOptions& options, TaskKind kind) {
  if (auto s = CheckRange("dihedral_views", options.dihedral_views(), 0, puzzle::kNumDihedral);
      !s.ok()) {
    return s;
  }
  if (kind == TaskKind::kArc && options.dihedral_views() > 1) {
    return absl::InvalidArgumentError(
        "options.dihedral_views: ARC requests are augmented by options.arc_augmentations");
  }
  return absl::OkStatus();
}

absl::Status CheckArcOptions(const trm::v1::SolveOptions& options) {
  if (auto s =
          CheckRange("arc_augmentations", options.arc_augmentations(), 0, kMaxArcAugmentations);
      !s.ok()) {
    return s;
  }
  return CheckRange("arc_attempts", options.arc_attempts(), 0, kMaxArcAttempts);
}

void ToProtoGrid(int rows, int cols, std::span<const int32_t> cells, trm::v1::Grid* grid) {
  grid->set_rows(rows);
  grid->set_cols(cols);
  grid->mutable_cells()->Assign(cells.begin(), cells.end());
}

void ToProtoGrid(const puzzle::ArcGrid& from, trm::v1::Grid* grid) {
  grid->set_rows(from.rows);
  grid->set_cols(from.cols);
  grid->mutable_cells()->Assign(from.cells.begin(), from.cells.end());
}

void DecodeAnswer(const EncodedPuzzle& puzzle, std::span<const int32_t> tokens,
                  trm::v1::Answer* answer) {
  answer->Clear();
  switch (puzzle.kind) {
    case TaskKind::kSudoku: {
      auto grid = puzzle::SudokuFromTokens(tokens);
      if (grid.ok()) {
        answer->set_sudoku(puzzle::SudokuToString(*grid, '0'));
        return;
      }
      break;
    }
    case TaskKind::kMaze: {
      auto maze =
          puzzle::MazeFromTokens(tokens, puzzle.maze.rows, puzzle.maze.cols, puzzle.maze_side);
      if (maze.ok()) {
        for (auto& row : puzzle::MazeToRows(*maze)) answer->mutable_maze()->add_rows(row);
        return;
      }
      break;
    }
    case TaskKind::kArc: {
      auto grid = puzzle::ArcGridFromTokens(tokens);
      if (grid.ok()) {
        std::vector<int32_t> cells(grid->cells.begin(), grid->cells.end());
        ToProtoGrid(grid->rows, grid->cols, cells, answer->mutable_grid());
        return;
      }
      break;
    }
    case TaskKind::kTokens:
      break;
  }
  answer->mutable_tokens()->mutable_tokens()->Assign(tokens.begin(), tokens.end());
  answer->mutable_tokens()->set_puzzle_identifier(puzzle.puzzle_identifier);
}

Checked VerifyAnswer(const EncodedPuzzle& puzzle, std::span<const int32_t> tokens) {
  Checked out;
  if (puzzle.kind == TaskKind::kSudoku) {
    auto grid = puzzle::SudokuFromTokens(tokens);
    auto ok = grid.ok() ? puzzle::VerifySudokuAnswer(puzzle.sudoku, *grid)
                        : puzzle::Expected<void>(grid.error());
    out.verification = ok.ok() ? trm::v1::VERIFICATION_VERIFIED : trm::v1::VERIFICATION_INVALID;
    out.detail = ok.error().message;
  } else if (puzzle.kind == TaskKind::kMaze) {
    auto maze =
        puzzle::MazeFromTokens(tokens, puzzle.maze.rows, puzzle.maze.cols, puzzle.maze_side);
    auto ok = maze.ok() ? puzzle::VerifyMazeAnswer(puzzle.maze, *maze)
                        : puzzle::Expected<void>(maze.error());
    out.verification = ok.ok() ? trm::v1::VERIFICATION_VERIFIED : trm::v1::VERIFICATION_INVALID;
    out.detail = ok.error().message;
  }
  return out;
}

bool ExactAnswer(const EncodedPuzzle& puzzle, trm::v1::Answer* answer) {
  if (puzzle.kind == TaskKind::kSudoku) {
    // One solution is enough here; uniqueness is the caller's puzzle's business.
    auto solved = puzzle::SolveSudoku(puzzle.sudoku, {.max_solutions = 1, .max_guesses = 0});
    if (!solved.solved()) return false;
    answer->Clear();
    answer->set_sudoku(puzzle::SudokuToString(solved.solution, '0'));
    return true;
  }
  if (puzzle.kind == TaskKind::kMaze) {
    auto solved = puzzle::SolveMaze(puzzle.maze);
    if (!solved.solvable) return false;
    answer->Clear();
    for (auto& row : puzzle::MazeToRows(solved.solution)) answer->mutable_maze()->add_rows(row);
    return true;
  }
  return false;
}

trm::v1::HaltReason ToProtoHaltReason(engine::HaltReason reason) {
  switch (reason) {
    case engine::HaltReason::kQHead:
      return trm::v1::HALT_REASON_Q_HEAD;
    case engine::HaltReason::kMaxSteps:
      return trm::v1::HALT_REASON_MAX_STEPS;
    case engine::HaltReason::kFixedSteps:
      return trm::v1::HALT_REASON_FIXED_STEPS;
  }
  return trm::v1::HALT_REASON_UNSPECIFIED;
}

const char* VerificationLabel(trm::v1::Verification verification) {
  switch (verification) {
    case trm::v1::VERIFICATION_VERIFIED:
      return "verified";
    case trm::v1::VERIFICATION_INVALID:
      return "invalid";
    default:
      return "not_checkable";
  }
}

void ToProtoModelInfo(const engine::ModelInfo& info, trm::v1::ModelInfo* out) {
  out->set_name(info.name);
  out->set_version(info.version);
  out->set_task(engine::TaskKindName(info.task));
  out->set_seq_len(info.seq_len);
  out->set_vocab_size(info.vocab_size);
  out->set_halt_max_steps(info.halt_max_steps);
  out->set_device(info.device);
  out->set_cpu_kernels(info.cpu_kernels);
  out->set_parameters(info.parameters);
  out->set_is_default(info.is_default);
  out->set_num_puzzle_identifiers(info.num_puzzle_identifiers);
  out->set_maze_side(info.maze_side);
  out->set_halt_threshold(info.halt_threshold);
  out->set_dihedral_views(info.dihedral_views);
}

}  // namespace trm::server
