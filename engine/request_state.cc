#include "engine/request_state.h"

#include <utility>

#include "absl/time/clock.h"
#include "engine/arc_expansion.h"
#include "engine/dihedral_views.h"

namespace trm::engine {
namespace {

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

}  // namespace

RequestState::RequestState(Spec spec, uint64_t sequence, absl::Time enqueued)
    : spec_(std::move(spec)),
      wants_steps_(spec_.on_step != nullptr),
      sequence_(sequence),
      enqueued_(enqueued),
      answers_(spec_.rows.size()) {}

RequestState::~RequestState() = default;

void RequestState::OnSteps(const HostStep& host, std::span<const RowStep> rows) {
  if (done_) return;  // Rows still running when the vote was decided.
  for (const RowStep& r : rows) {
    if (!r.halted || answers_[r.row]) continue;
    std::span<const int32_t> y = host.Row(r.slot);
    answers_[r.row] = RowAnswer{.tokens = std::vector<int32_t>(y.begin(), y.end()),
                                .confidence = r.confidence,
                                .steps = r.steps,
                                .halt_reason = *r.halted};
    ++rows_answered_;
  }
  std::optional<Result> result = TryCombine();
  if (wants_steps_) {
    for (const RowStep& r : rows) {
      if (r.row == 0) EmitStep(host, r, result.has_value());
    }
  }
  if (result) Answer(*std::move(result));
}

void RequestState::OnFailure(absl::Status status, int steps) {
  if (done_) return;
  Result r;
  r.status = std::move(status);
  r.steps = std::max(steps, last_step_);
  Answer(std::move(r));
}

void RequestState::EmitStep(const HostStep& host, const RowStep& row, bool final) {
  std::span<const int32_t> y = host.Row(row.slot);
  StepEvent event;
  event.step = row.steps;
  event.answer_tokens.assign(y.begin(), y.end());
  event.confidence = row.confidence;
  for (size_t c = 0; c < y.size(); ++c) {
    if (previous_.size() != y.size() || previous_[c] != y[c]) {
      event.changed_cells.push_back(static_cast<int32_t>(c));
    }
  }
  event.final = final;
  previous_.assign(y.begin(), y.end());
  last_step_ = row.steps;
  spec_.on_step(event);
}

std::optional<Result> RequestState::TryCombine() {
  auto row_result = [](const RowAnswer& a) {
    Result r;
    r.answer_tokens = a.tokens;
    r.confidence = a.confidence;
    r.steps = a.steps;
    r.halt_reason = a.halt_reason;
    return r;
  };
  switch (spec_.combine) {
    case Combine::kOne:
      if (!answers_[0]) return std::nullopt;
      return row_result(*answers_[0]);
    case Combine::kViews: {
      std::vector<ViewAnswer> views;
      for (int k = 0; k < num_rows(); ++k) {
        if (answers_[k]) views.push_back(TurnBack(k, row_result(*answers_[k]), spec_.grid_side));
      }
      if (!VoteDecided(TallyViews(views), num_rows() - rows_answered_)) return std::nullopt;
      return CombineViews(views);
    }
    case Combine::kArc: {
      if (rows_answered_ < num_rows()) return std::nullopt;
      std::vector<ArcRowResult> rows(num_rows());
      for (int i = 0; i < num_rows(); ++i) {
        rows[i].augmentation = spec_.augmentations[i];
        rows[i].result = row_result(*answers_[i]);
      }
      return VoteArcRows(rows, spec_.arc_attempts);
    }
  }
  return std::nullopt;
}

void RequestState::Answer(Result result) {
  done_ = true;
  answered_.store(true, std::memory_order_release);
  const absl::Time now = absl::Now();
  const absl::Time admitted = admitted_ == absl::InfinitePast() ? now : admitted_;
  result.model = spec_.model;
  result.model_version = model_version_;
  result.timing = {Ms(admitted - enqueued_), Ms(now - admitted), Ms(now - enqueued_)};
  if (spec_.observer) spec_.observer->OnRequestDone(result);
  auto on_done = std::move(spec_.on_done);
  spec_.on_step = nullptr;
  spec_.on_done = nullptr;
  if (on_done) on_done(std::move(result));
}

}  // namespace trm::engine
