#include "engine/arc_expansion.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "puzzle/arc_vote.h"

namespace trm::engine {
namespace {

ArcRow MakeArcRow(const puzzle::ArcAugmentation& augmentation, int32_t puzzle_identifier,
                  const puzzle::ArcGrid& input) {
  return ArcRow{augmentation, puzzle_identifier,
                puzzle::ArcGridToTokens(augmentation.Apply(input))};
}

}  // namespace

absl::StatusOr<std::vector<ArcRow>> ExpandArcRequest(std::span<const std::string> identifiers,
                                                     const std::string& task_id,
                                                     const puzzle::ArcGrid& input, int max_rows) {
  if (auto ok = puzzle::ValidateArcGrid(input); !ok) {
    return absl::InvalidArgumentError(ok.error().message);
  }
  std::vector<ArcRow> rows;
  for (size_t id = 0; id < identifiers.size(); ++id) {
    auto parsed = puzzle::ParseArcName(identifiers[id]);
    if (!parsed || parsed->task_id != task_id) continue;
    rows.push_back(MakeArcRow(parsed->augmentation, static_cast<int32_t>(id), input));
  }
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("arc task \"", task_id,
                                            "\": the checkpoint has no puzzle id for it (among ",
                                            identifiers.size(), " identifiers)"));
  }
  // Identity first: with one row the request is the plain, unaugmented puzzle.
  std::stable_partition(rows.begin(), rows.end(),
                        [](const ArcRow& r) { return r.augmentation.is_identity(); });
  if (max_rows > 0 && static_cast<int>(rows.size()) > max_rows) rows.resize(max_rows);
  return rows;
}

absl::StatusOr<std::vector<ArcRow>> ExpandFittedArcRequest(
    std::span<const puzzle::ArcAugmentation> variants, std::span<const int32_t> rows,
    const puzzle::ArcGrid& input, int max_rows) {
  if (auto ok = puzzle::ValidateArcGrid(input); !ok) {
    return absl::InvalidArgumentError(ok.error().message);
  }
  std::vector<ArcRow> out;
  for (size_t v = 0; v < variants.size() && v < rows.size(); ++v) {
    if (max_rows > 0 && static_cast<int>(out.size()) == max_rows) break;
    out.push_back(MakeArcRow(variants[v], rows[v], input));
  }
  return out;
}

Result VoteArcRows(std::span<const ArcRowResult> rows, int attempts) {
  Result out;
  if (attempts <= 0) attempts = 2;
  std::vector<puzzle::ArcPrediction> predictions;
  for (const ArcRowResult& row : rows) {
    const Result& r = row.result;
    if (!r.status.ok() && out.status.ok()) out.status = r.status;
    out.steps = std::max(out.steps, r.steps);
    if (out.model.empty()) {
      out.model = r.model;
      out.model_version = r.model_version;
      out.halt_reason = r.halt_reason;
    }
    out.timing.queue_ms = std::max(out.timing.queue_ms, r.timing.queue_ms);
    out.timing.compute_ms = std::max(out.timing.compute_ms, r.timing.compute_ms);
    out.timing.total_ms = std::max(out.timing.total_ms, r.timing.total_ms);
    if (!r.status.ok()) continue;
    auto p = puzzle::ArcPredictionFromTokens(row.augmentation, r.answer_tokens, r.confidence);
    if (!p) {
      out.status = absl::InternalError(absl::StrCat("arc: row answer: ", p.error().message));
      continue;
    }
    predictions.push_back(std::move(*p));
  }
  if (!out.status.ok()) return out;
  std::vector<puzzle::ArcCandidate> ranked = puzzle::VoteArcPredictions(predictions, attempts);
  for (const puzzle::ArcCandidate& c : ranked) {
    Result::ArcAttempt a;
    a.rows = c.grid.rows;
    a.cols = c.grid.cols;
    a.cells.assign(c.grid.cells.begin(), c.grid.cells.end());
    a.votes = c.votes;
    a.confidence = c.mean_confidence;
    out.arc_attempts.push_back(std::move(a));
  }
  if (!ranked.empty()) {
    out.confidence = ranked.front().mean_confidence;
    if (ranked.front().grid.rows > 0)
      out.answer_tokens = puzzle::ArcGridToTokens(ranked.front().grid);
  }
  return out;
}

}  // namespace trm::engine
