#include "engine/dihedral_views.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "puzzle/dihedral.h"

namespace trm::engine {

absl::StatusOr<int> DihedralGridSide(const ModelInfo& model) {
  int side = 0;
  if (model.task == TaskKind::kSudoku) side = 9;
  if (model.task == TaskKind::kMaze) side = model.maze_side;
  if (side <= 0 || side * side != model.seq_len) {
    return absl::InvalidArgumentError(
        absl::StrCat("dihedral_views: model ", model.name, " is a ", TaskKindName(model.task),
                     " model without a square grid to turn; only sudoku and maze models take "
                     "more than one view"));
  }
  return side;
}

std::vector<int32_t> ViewTokens(const std::vector<int32_t>& tokens, int side, int view) {
  return puzzle::DihedralTransform(tokens, side, side, view);
}

Result CombineViews(std::vector<Result> views, int side) {
  if (views.empty()) return Result{.status = absl::InternalError("CombineViews: no views")};
  int best = -1;
  for (int k = 0; k < static_cast<int>(views.size()); ++k) {
    if (!views[k].status.ok()) return std::move(views[k]);
    if (best < 0 || views[k].confidence > views[best].confidence) best = k;
  }
  Result out = std::move(views[best]);
  out.answer_tokens =
      puzzle::DihedralTransform(out.answer_tokens, side, side, puzzle::DihedralInverse(best));
  // The request waited as long as its slowest view.
  for (const Result& v : views) {
    out.timing.queue_ms = std::max(out.timing.queue_ms, v.timing.queue_ms);
    out.timing.total_ms = std::max(out.timing.total_ms, v.timing.total_ms);
  }
  return out;
}

}  // namespace trm::engine
