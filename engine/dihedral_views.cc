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

ViewAnswer TurnBack(int view, Result result, int side) {
  result.answer_tokens =
      puzzle::DihedralTransform(result.answer_tokens, side, side, puzzle::DihedralInverse(view));
  return ViewAnswer{.view = view, .result = std::move(result)};
}

ViewVote TallyViews(std::span<const ViewAnswer> answers) {
  ViewVote vote;
  double best = -1, runner_up = 0;
  std::vector<bool> counted(answers.size(), false);  // Already tallied with an earlier view.
  for (size_t k = 0; k < answers.size(); ++k) {
    if (counted[k]) continue;
    double votes = 0;
    int agreeing = 0;
    size_t most_confident = k;
    for (size_t j = k; j < answers.size(); ++j) {
      if (answers[j].result.answer_tokens != answers[k].result.answer_tokens) continue;
      counted[j] = true;
      votes += answers[j].result.confidence;
      ++agreeing;
      if (answers[j].result.confidence > answers[most_confident].result.confidence) {
        most_confident = j;
      }
    }
    if (votes > best) {  // Strictly: ties stay with the lower view's answer.
      runner_up = std::max(best, 0.0);
      best = votes;
      vote.winner = static_cast<int>(most_confident);
      vote.agreeing = agreeing;
    } else {
      runner_up = std::max(runner_up, votes);
    }
  }
  vote.lead = best - runner_up;
  return vote;
}

Result CombineViews(std::span<const ViewAnswer> answers) {
  const ViewVote vote = TallyViews(answers);
  if (vote.winner < 0) {
    Result none;
    none.status = absl::InternalError("CombineViews: no view answered");
    return none;
  }
  Result out = answers[vote.winner].result;
  out.views = static_cast<int>(answers.size());
  out.views_agreeing = vote.agreeing;
  return out;
}

}  // namespace trm::engine
