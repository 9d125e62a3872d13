#include "train/data_parallel.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "train/optim.h"

namespace trm::train {

absl::Status AllReduceGradients(Communicator& comm, const std::vector<torch::Tensor>& params) {
  // Every rank runs the same graph, so the same parameters have gradients everywhere and the
  // buckets line up (a rank that differed would fail CheckSameWeights).
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  return comm.AllReduceSum(grads, "gradient all-reduce");
}

absl::Status SignSgdRowsDistributed(Communicator& comm, torch::Tensor& weights,
                                    const torch::Tensor& grad, const torch::Tensor& ids, double lr,
                                    double weight_decay) {
  torch::NoGradGuard no_grad;
  const auto dev = weights.device();
  const int64_t local = ids.numel(), dim = weights.size(1);
  auto touched = std::get<0>(torch::_unique(ids.reshape({-1}).to(dev, torch::kLong)));
  const int64_t k = touched.size(0);
  // Padded to the batch rows (the most ids a rank can touch) so every rank sends one shape.
  auto pad_ids = torch::full({local}, -1, torch::TensorOptions().dtype(torch::kLong).device(dev));
  auto pad_rows = torch::zeros({local, dim}, grad.options());
  pad_ids.narrow(0, 0, k).copy_(touched);
  pad_rows.narrow(0, 0, k).copy_(grad.index_select(0, touched));
  auto all_ids = comm.AllGather(pad_ids, "puzzle-embedding ids all-gather");
  if (!all_ids.ok()) return all_ids.status();
  auto all_rows = comm.AllGather(pad_rows, "puzzle-embedding gradients all-gather");
  if (!all_rows.ok()) return all_rows.status();
  const auto valid = *all_ids >= 0;
  auto [rows, inverse, counts] =
      torch::_unique2(all_ids->masked_select(valid), /*sorted=*/true, /*return_inverse=*/true);
  auto summed = torch::zeros({rows.size(0), dim}, grad.options())
                    .index_add_(0, inverse, all_rows->index({valid}));
  SignSgdUpdate(weights, rows, summed, lr, weight_decay);
  return absl::OkStatus();
}

uint64_t WeightsFingerprint(model::TrmNet& net) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, 64 bits.
  auto mix = [&](const torch::Tensor& t) {
    const auto c = t.detach().to(torch::kCPU).contiguous();
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    const size_t n = c.numel() * c.element_size();
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 0x100000001b3ull;
    }
  };
  for (const auto& p : net->named_parameters()) mix(p.value());
  for (const auto& b : net->named_buffers()) mix(b.value());
  return h;
}

absl::StatusOr<uint64_t> CheckSameWeights(Communicator& comm, model::TrmNet& net, int64_t step) {
  const uint64_t mine = WeightsFingerprint(net);
  int64_t as_signed = 0;
  std::memcpy(&as_signed, &mine, sizeof mine);
  auto all = comm.AllGather(torch::tensor({as_signed}, torch::kLong), "weights check");
  if (!all.ok()) return all.status();
  std::vector<std::string> differ;
  auto fp = all->accessor<int64_t, 1>();
  for (int r = 1; r < comm.world_size(); ++r) {
    if (fp[r] != fp[0]) differ.push_back(absl::StrFormat("rank %d (%016x)", r, fp[r]));
  }
  if (!differ.empty()) {
    return absl::InternalError(absl::StrCat(
        "distributed: the ranks' weights differ after step ", step, ": ",
        absl::StrJoin(differ, ", "), absl::StrFormat(" vs rank 0 (%016x)", fp[0]),
        "; every rank must apply the same update (same options, same libtorch, same device "
        "kind)"));
  }
  return mine;
}

absl::Status CheckSameOptions(Communicator& comm, const nlohmann::json& options) {
  nlohmann::json mine = options;
  for (const char* k : {"out_dir", "threads", "device"}) mine.erase(k);
  auto root = comm.ShareFromRoot("options", mine.dump());
  if (!root.ok()) return root.status();
  if (*root == mine.dump()) return absl::OkStatus();
  const auto theirs = nlohmann::json::parse(*root, nullptr, false).flatten();
  const auto flat = mine.flatten();
  for (const auto& [key, value] : flat.items()) {
    if (!theirs.contains(key) || theirs[key] != value) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rank ", comm.rank(), "'s options differ from rank 0's: ", key, " is ", value.dump(),
          " here, ", theirs.contains(key) ? theirs[key].dump() : "absent",
          " on rank 0; every "
          "rank must run the same command"));
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("rank ", comm.rank(), "'s options differ from rank 0's"));
}

}  // namespace trm::train
