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
  if (views.empty()) {
    Result empty;
    empty.status = absl::InternalError("CombineViews: no views");
    return empty;
  }
  for (Result& v : views) {
    if (!v.status.ok()) return std::move(v);
  }
  // Every answer back in view 0's orientation; the votes of the views that agree add up.
  std::vector<std::vector<int32_t>> answers;
  for (int k = 0; k < static_cast<int>(views.size()); ++k) {
    answers.push_back(
        puzzle::DihedralTransform(views[k].answer_tokens, side, side, puzzle::DihedralInverse(k)));
  }
  int winner = 0;  // A view holding the winning answer: its most confident one.
  double best_vote = -1;
  for (int k = 0; k < static_cast<int>(views.size()); ++k) {
    double vote = 0;
    int most_confident = k;
    for (int j = 0; j < static_cast<int>(views.size()); ++j) {
      if (answers[j] != answers[k]) continue;
      vote += views[j].confidence;
      if (views[j].confidence > views[most_confident].confidence) most_confident = j;
    }
    if (vote > best_vote) {  // Strictly: ties stay with the lower view's answer.
      best_vote = vote;
      winner = most_confident;
    }
  }
  Result out = std::move(views[winner]);
  out.answer_tokens = std::move(answers[winner]);
  // The request waited as long as its slowest view.
  for (const Result& v : views) {
    out.timing.queue_ms = std::max(out.timing.queue_ms, v.timing.queue_ms);
    out.timing.total_ms = std::max(out.timing.total_ms, v.timing.total_ms);
  }
  return out;
}

}  // namespace trm::engine
