#include "server/grpc/step_queue.h"

#include <algorithm>
#include <iterator>
#include <vector>

namespace trm::server {

StepQueue::StepQueue(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void StepQueue::Push(trm::v1::SolveStep step) {
  if (waiting() < capacity_) {
    messages_.push_back(std::move(step));
    return;
  }
  // Full: `step` takes the newest waiting message's place, carrying its changes too.
  trm::v1::SolveStep& newest = messages_.back();
  std::vector<int32_t> a(newest.changed_cells().begin(), newest.changed_cells().end());
  std::vector<int32_t> b(step.changed_cells().begin(), step.changed_cells().end());
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<int32_t> all;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(all));
  step.mutable_changed_cells()->Assign(all.begin(), all.end());
  newest = std::move(step);
  ++merged_;
}

const trm::v1::SolveStep* StepQueue::StartWrite(absl::Time now) {
  if (writing_ || messages_.empty()) return nullptr;
  writing_ = true;
  write_started_ = now;
  return &messages_.front();
}

void StepQueue::WriteDone() {
  if (!writing_) return;
  writing_ = false;
  messages_.pop_front();
}

void StepQueue::DropWaiting() { messages_.resize(writing_ ? 1 : 0); }

absl::Duration StepQueue::WriteWaiting(absl::Time now) const {
  return writing_ ? now - write_started_ : absl::ZeroDuration();
}

}  // namespace trm::server
