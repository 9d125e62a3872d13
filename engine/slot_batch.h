// SlotBatch: one model generation's batch state in fixed slots.
//
// The carry (z_H, z_L), the input tokens and the puzzle ids of `capacity` rows are allocated once,
// at the first admission; admission writes a request's rows into free slots in place and resets
// their carry (official reset_carry); a freed slot is filled by moving the last occupied row into
// it, so the occupied rows are always the prefix [0, occupied) and a step runs over one of a few
// shapes: the occupied count on the CPU, that count rounded up to a power of two (capped at the
// capacity) on CUDA, where each such bucket can be one captured graph. Nothing is reallocated per
// step. Internal to engine/: sees torch. Used by one scheduler thread.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <span>
#include <vector>

#include "engine/request_state.h"
#include "engine/serving_model.h"

namespace trm::engine {

class SlotBatch {
 public:
  struct Slot {
    std::shared_ptr<RequestState> request;
    int row = 0;  // The row's index in its request.
    int steps = 0;
    float confidence = 0;
    // False once the row halted or was released. A continuous batch frees such slots at the next
    // boundary; a static one keeps computing them until every row is done.
    bool live = true;
  };
  // A row to admit: the request and the row's index in it.
  struct Admission {
    std::shared_ptr<RequestState> request;
    int row = 0;
  };
  // One step's output on the host: y per slot (HostStep) and q_halt per slot.
  struct Output {
    HostStep host;
    torch::Tensor q_halt;  // [rows] float32, CPU.
  };

  SlotBatch(std::shared_ptr<const ServingModel> model, int capacity);

  const std::shared_ptr<const ServingModel>& model() const { return model_; }
  int capacity() const { return capacity_; }
  int occupied() const { return static_cast<int>(slots_.size()); }
  int free() const { return capacity_ - occupied(); }
  std::span<Slot> slots() { return slots_; }

  // Writes `rows` into the next free slots and resets their carry. Torch may throw (allocation,
  // a device error); then no slot is taken.
  void Admit(std::span<const Admission> rows);
  // Frees every slot that is not live, moving the last occupied rows into the holes.
  void Compact();
  // Forgets every slot (after a failed step; the tensors stay allocated).
  void Clear() { slots_.clear(); }
  // One ACT step over the occupied rows; y and q_halt copied to the host once. Torch may throw.
  Output Step();

  // The rows a step runs over for `occupied` rows: `occupied` on the CPU, the next power of two
  // (at most `capacity`) on CUDA.
  static int64_t StepRows(int occupied, int capacity, bool cuda);

 private:
  void Allocate();
  // Copies slot `from`'s tensors and bookkeeping into slot `to`.
  void MoveRow(int from, int to);

  const std::shared_ptr<const ServingModel> model_;
  const int capacity_;
  std::vector<Slot> slots_;  // slots_[i] is tensor row i.
  model::Carry carry_;       // [capacity, FullSeqLen, hidden], the forward dtype.
  // logits [capacity, seq_len, vocab], q_halt and q_continue [capacity], float32: a step writes
  // the first rows in place.
  model::StepOutputs outputs_;
  torch::Tensor inputs_;                        // [capacity, seq_len] int32.
  torch::Tensor puzzle_ids_;                    // [capacity] int32.
  torch::Tensor staging_inputs_, staging_ids_;  // Host rows for an admission (pinned on CUDA).
};

}  // namespace trm::engine
