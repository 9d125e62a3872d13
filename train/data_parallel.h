// The training semantics of data parallelism, as the official pretrain.py runs them under
// torchrun, on top of Communicator:
//  - each rank runs rows [rank * B/W, (rank + 1) * B/W) of every global batch of B rows (the
//    official PuzzleDataset's slice of the global batch; for generated data, the examples of
//    those rows' indices, so every rank sees disjoint examples);
//  - each rank's loss is scaled by 1/B (the global batch), so the gradients summed over ranks are
//    the mean over the global batch (official: ((1 / global_batch_size) * loss).backward() then
//    all_reduce(SUM)); here in a few flat buckets rather than one call per tensor;
//  - the puzzle-embedding sign-SGD sees the touched ids and their gradients of every rank
//    (official CastedSparseEmbeddingSignSGD_Distributed: all-gather, then unique and sum);
//  - so every rank applies the same update to the same weights: they stay bit-identical, which
//    CheckSameWeights verifies.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/trm_net.h"
#include "nlohmann/json.hpp"
#include "train/communicator.h"

namespace trm::train {

// Sums the parameters' gradients over the ranks, in place (parameters without one are skipped,
// as the optimiser skips them).
absl::Status AllReduceGradients(Communicator& comm, const std::vector<torch::Tensor>& params);

// The distributed sign-SGD step of the puzzle embeddings. `grad` is this rank's dense gradient
// of `weights` ([N, D]); `ids` this rank's batch puzzle ids. Each rank contributes its touched
// rows (padded to its batch size so the all-gather has one shape), every rank sums the rows of
// each id over all ranks and applies w <- w * (1 - lr * weight_decay) - lr * sign(g) to the rows
// touched anywhere; rows touched nowhere are unchanged (as SignSgdRows, on one process).
absl::Status SignSgdRowsDistributed(Communicator& comm, torch::Tensor& weights,
                                    const torch::Tensor& grad, const torch::Tensor& ids, double lr,
                                    double weight_decay);

// A 64-bit fingerprint (FNV-1a) of the bytes of every parameter and buffer, in order.
uint64_t WeightsFingerprint(model::TrmNet& net);

// Compares every rank's fingerprint; an error names the ranks whose weights differ from rank
// 0's. Returns the fingerprint.
absl::StatusOr<uint64_t> CheckSameWeights(Communicator& comm, model::TrmNet& net, int64_t step);

// Every rank must train the same thing: compares this rank's options (what changes the
// computation; not out_dir, threads or device) with rank 0's and names the first field that
// differs.
absl::Status CheckSameOptions(Communicator& comm, const nlohmann::json& options);

}  // namespace trm::train
