#include "client/render.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace trm::client {
namespace {

constexpr char kHighlight[] = "\x1b[7m";
constexpr char kPath[] = "\x1b[33m";
constexpr char kReset[] = "\x1b[0m";

std::string Cell(char c, bool changed, const RenderOptions& o, const char* colour = nullptr) {
  if (o.color && changed) return absl::StrCat(kHighlight, std::string(1, c), kReset);
  if (o.color && colour) return absl::StrCat(colour, std::string(1, c), kReset);
  return std::string(1, c);
}

std::vector<std::string> RenderSudoku(const std::string& digits, const std::set<int>& changed,
                                      const RenderOptions& o) {
  std::vector<std::string> lines;
  for (int r = 0; r < 9; ++r) {
    if (r == 3 || r == 6) lines.push_back("------+-------+------");
    std::string line;
    for (int c = 0; c < 9; ++c) {
      if (c == 3 || c == 6) line += "| ";
      const int i = r * 9 + c;
      const char ch = i < static_cast<int>(digits.size()) && digits[i] != '0' ? digits[i] : '.';
      line += Cell(ch, changed.count(i) > 0, o);
      if (c != 8) line += ' ';
    }
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> RenderMaze(const trm::v1::MazePuzzle& maze, const std::set<int>& changed,
                                    int side, const RenderOptions& o) {
  std::vector<std::string> lines;
  for (int r = 0; r < maze.rows_size(); ++r) {
    std::string line;
    const std::string& row = maze.rows(r);
    for (int c = 0; c < static_cast<int>(row.size()); ++c) {
      line += Cell(row[c], changed.count(r * side + c) > 0, o, row[c] == 'o' ? kPath : nullptr);
    }
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> RenderGrid(const trm::v1::Grid& grid, const RenderOptions& o) {
  std::vector<std::string> lines;
  for (int r = 0; r < grid.rows(); ++r) {
    std::string line;
    for (int c = 0; c < grid.cols(); ++c) {
      const int v = grid.cells(r * grid.cols() + c);
      // ARC colours as background colours 40-47 / 100-101, the digit on top.
      if (o.color) {
        static const int kBg[10] = {40, 44, 41, 42, 43, 100, 45, 101, 46, 47};
        line += absl::StrCat("\x1b[", kBg[v % 10], "m", v, kReset);
      } else {
        line += absl::StrCat(v);
      }
    }
    lines.push_back(line);
  }
  return lines;
}

}  // namespace

std::vector<std::string> RenderAnswer(const trm::v1::Answer& answer,
                                      const std::vector<int>& changed, int maze_side,
                                      const RenderOptions& options) {
  const std::set<int> changed_set(changed.begin(), changed.end());
  switch (answer.value_case()) {
    case trm::v1::Answer::kSudoku:
      return RenderSudoku(answer.sudoku(), changed_set, options);
    case trm::v1::Answer::kMaze:
      return RenderMaze(answer.maze(), changed_set, maze_side > 0 ? maze_side : 30, options);
    case trm::v1::Answer::kGrid:
      return RenderGrid(answer.grid(), options);
    case trm::v1::Answer::kTokens: {
      std::vector<std::string> tokens;
      for (int i = 0; i < answer.tokens().tokens_size(); ++i) {
        std::string t = absl::StrCat(answer.tokens().tokens(i));
        tokens.push_back(options.color && changed_set.count(i) ? absl::StrCat(kHighlight, t, kReset)
                                                               : t);
      }
      return {absl::StrJoin(tokens, " ")};
    }
    case trm::v1::Answer::VALUE_NOT_SET:
      break;
  }
  return {"(no answer)"};
}

std::vector<std::string> RenderStep(const trm::v1::SolveStep& step, int maze_side,
                                    const RenderOptions& options) {
  std::vector<int> changed(step.changed_cells().begin(), step.changed_cells().end());
  std::vector<std::string> lines = {absl::StrFormat("step %-3d confidence %.3f  changed %-4d%s",
                                                    step.step(), step.confidence(), changed.size(),
                                                    step.final() ? " final" : "")};
  for (auto& line : RenderAnswer(step.answer(), changed, maze_side, options)) lines.push_back(line);
  return lines;
}

std::string SummarizeResponse(const trm::v1::SolveResponse& r, int maze_side,
                              const RenderOptions& options) {
  std::string out;
  for (const auto& line : RenderAnswer(r.answer(), {}, maze_side, options)) {
    absl::StrAppend(&out, line, "\n");
  }
  absl::StrAppend(&out, "model ", r.model(), " (", r.model_version(), ")  steps ", r.steps(),
                  "  halt ", trm::v1::HaltReason_Name(r.halt_reason()), "  confidence ",
                  absl::StrFormat("%.3f", r.confidence()));
  // Dihedral views: how many answered and how many of them agree, a confidence of its own.
  if (r.views() > 1)
    absl::StrAppend(&out, "  views ", r.views_agreeing(), "/", r.views(), " agree");
  absl::StrAppend(&out, "\n");
  absl::StrAppend(
      &out, "verification ", trm::v1::Verification_Name(r.verification()),
      r.verification_detail().empty() ? "" : absl::StrCat(" (", r.verification_detail(), ")"),
      "  source ", trm::v1::AnswerSource_Name(r.source()), "\n");
  for (int i = 0; i < r.arc_attempts_size(); ++i) {
    absl::StrAppend(&out, "attempt ", i + 1, ": votes ", r.arc_attempts(i).votes(), "\n");
    for (const auto& line : RenderGrid(r.arc_attempts(i).grid(), options)) {
      absl::StrAppend(&out, line, "\n");
    }
  }
  absl::StrAppend(
      &out, absl::StrFormat("timing queue %.2f ms  compute %.2f ms  total %.2f ms  id %s",
                            r.timing().queue_ms(), r.timing().compute_ms(), r.timing().total_ms(),
                            r.request_id()));
  return out;
}

}  // namespace trm::client
