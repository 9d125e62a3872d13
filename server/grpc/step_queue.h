// The SolveSteps messages waiting to be written to one stream, bounded.
//
// A stream writes one message at a time and the engine makes one per ACT step, so a client that
// reads slower than the model steps (or not at all) made the queue grow by a step per step: about
// 400 KiB per 1,000-step stream, held until the client went (issue 22). This queue holds at most
// `capacity` messages besides the one being written. Past that, a new step replaces the newest
// waiting message: a slow reader gets the latest steps and skips some in between, and it always
// gets the final one. The replacing message's changed_cells becomes the union of both, so it
// lists every cell that changed since the message the client saw before it (a cell that changed
// and changed back is listed too; the answer in each message is whole either way).
//
// Not thread-safe: the stream's mutex guards it. The message being written stays at the front
// until WriteDone, so the pointer StartWrite returns is valid until then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "absl/time/time.h"
#include "trm/v1/solver.pb.h"

namespace trm::server {

class StepQueue {
 public:
  // `capacity` >= 1: messages that may wait besides the one being written.
  explicit StepQueue(size_t capacity);

  // Queues `step`, merging it into the newest waiting message when `capacity` already wait.
  void Push(trm::v1::SolveStep step);
  // The next message to write, now in flight since `now`; nullptr when a write is already in
  // flight or nothing waits.
  const trm::v1::SolveStep* StartWrite(absl::Time now);
  // The write in flight has completed (either way): its message leaves the queue.
  void WriteDone();
  // Drops every waiting message; the one in flight stays until WriteDone.
  void DropWaiting();

  bool writing() const { return writing_; }
  size_t waiting() const { return messages_.size() - (writing_ ? 1 : 0); }
  // How long the write in flight has waited for the client to take it; zero when none.
  absl::Duration WriteWaiting(absl::Time now) const;
  // Steps merged away (not sent on their own) since construction.
  uint64_t merged() const { return merged_; }

 private:
  size_t capacity_;
  std::deque<trm::v1::SolveStep> messages_;  // front() is in flight while writing_.
  bool writing_ = false;
  absl::Time write_started_;
  uint64_t merged_ = 0;
};

}  // namespace trm::server
