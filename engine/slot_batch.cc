#include "engine/slot_batch.h"

#include <cstring>
#include <utility>

namespace trm::engine {

SlotBatch::SlotBatch(std::shared_ptr<const ServingModel> model, int capacity)
    : model_(std::move(model)), capacity_(capacity) {
  slots_.reserve(capacity_);
}

int64_t SlotBatch::StepRows(int occupied, int capacity, bool cuda) {
  if (!cuda || occupied <= 0) return occupied;
  int64_t bucket = 1;
  while (bucket < occupied) bucket *= 2;
  return std::min<int64_t>(bucket, capacity);
}

void SlotBatch::Allocate() {
  if (inputs_.defined()) return;
  const TrmConfig& c = model_->config;
  const auto dtype = model_->net->forward_dtype();
  const auto on_device = torch::TensorOptions().device(model_->device);
  // Zeros, not empty: the rows past `occupied` that a CUDA bucket computes must hold finite
  // values (token 0 is the pad token, puzzle id 0 exists in every model).
  carry_ = {torch::zeros({capacity_, c.FullSeqLen(), c.hidden_size}, on_device.dtype(dtype)),
            torch::zeros({capacity_, c.FullSeqLen(), c.hidden_size}, on_device.dtype(dtype))};
  outputs_ = {torch::empty({capacity_, c.seq_len, c.vocab_size}, on_device.dtype(torch::kFloat32)),
              torch::empty({capacity_}, on_device.dtype(torch::kFloat32)),
              torch::empty({capacity_}, on_device.dtype(torch::kFloat32))};
  inputs_ = torch::zeros({capacity_, c.seq_len}, on_device.dtype(torch::kInt32));
  puzzle_ids_ = torch::zeros({capacity_}, on_device.dtype(torch::kInt32));
  const bool pinned = model_->device.is_cuda();
  staging_inputs_ = torch::empty({capacity_, c.seq_len},
                                 torch::TensorOptions(torch::kInt32).pinned_memory(pinned));
  staging_ids_ =
      torch::empty({capacity_}, torch::TensorOptions(torch::kInt32).pinned_memory(pinned));
}

void SlotBatch::Admit(std::span<const Admission> rows) {
  if (rows.empty()) return;
  Allocate();
  const int64_t begin = occupied(), n = static_cast<int64_t>(rows.size());
  const int64_t seq = model_->config.seq_len;
  int32_t* in = staging_inputs_.data_ptr<int32_t>();
  int32_t* id = staging_ids_.data_ptr<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    const RequestState::Row& row = rows[i].request->spec().rows[rows[i].row];
    std::memcpy(in + i * seq, row.tokens.data(), sizeof(int32_t) * seq);
    id[i] = row.puzzle_identifier;
  }
  inputs_.narrow(0, begin, n).copy_(staging_inputs_.narrow(0, 0, n), /*non_blocking=*/true);
  puzzle_ids_.narrow(0, begin, n).copy_(staging_ids_.narrow(0, 0, n), /*non_blocking=*/true);
  model_->ResetRows(carry_, begin, n);
  // Only now, after every torch call succeeded, do the rows hold slots.
  for (const Admission& a : rows) slots_.push_back(Slot{.request = a.request, .row = a.row});
}

void SlotBatch::MoveRow(int from, int to) {
  carry_.z_h[to].copy_(carry_.z_h[from]);
  carry_.z_l[to].copy_(carry_.z_l[from]);
  inputs_[to].copy_(inputs_[from]);
  puzzle_ids_[to].copy_(puzzle_ids_[from]);
  slots_[to] = std::move(slots_[from]);
}

void SlotBatch::Compact() {
  int end = occupied();
  int i = 0;
  while (i < end) {
    if (slots_[i].live) {
      ++i;
      continue;
    }
    while (end > i + 1 && !slots_[end - 1].live) --end;  // Dead rows at the end just go.
    if (end > i + 1) {
      MoveRow(end - 1, i);  // The last live row fills the hole.
      --end;
      ++i;
    } else {
      end = i;  // The hole was the last row.
    }
  }
  slots_.resize(end);
}

SlotBatch::Output SlotBatch::Step() {
  const int64_t rows = StepRows(occupied(), capacity_, model_->device.is_cuda());
  // Views of the first rows (contiguous, as rows lead): the step writes them in place.
  model::Carry carry{carry_.z_h.narrow(0, 0, rows), carry_.z_l.narrow(0, 0, rows)};
  model::StepOutputs out{outputs_.logits.narrow(0, 0, rows), outputs_.q_halt.narrow(0, 0, rows),
                         outputs_.q_continue.narrow(0, 0, rows)};
  model_->ActStepInto(carry, inputs_.narrow(0, 0, rows), puzzle_ids_.narrow(0, 0, rows), out);
  // The one device-to-host copy per step: y and the halting logits.
  auto y = std::make_shared<torch::Tensor>(
      out.logits.argmax(-1).to(torch::kCPU, torch::kInt32).contiguous());
  Output o;
  o.q_halt = out.q_halt.to(torch::kCPU, torch::kFloat32).contiguous();
  o.host.tokens = y->data_ptr<int32_t>();
  o.host.seq_len = static_cast<int>(y->size(1));
  o.host.owner = std::move(y);
  return o;
}

}  // namespace trm::engine
