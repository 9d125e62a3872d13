// Test-time fitting of a puzzle embedding (the official code's path for tasks a checkpoint never
// saw: a fresh puzzle identifier trained on the task's demonstration pairs with the network
// frozen, `freeze_weights`). The network's weights are shared, never written: only a new
// embedding row learns, so a fit can run beside serving on the same TrmNet.
//
// The loop is the training recipe's at one row: each batch starts from the initial carry and runs
// `act_steps` ACT steps, each followed by the loss and an update (deep supervision, the carry
// detached between steps); the update is the puzzle embedding's sign-SGD with decoupled weight
// decay, as the trainer's. The loss is the softmax cross-entropy of the labelled cells.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "model/trm_net.h"

namespace trm::model {

// One demonstration pair in the model's tokens: seq_len inputs, seq_len labels (< 0: unscored).
struct EmbeddingFitExample {
  std::vector<int32_t> inputs;
  std::vector<int32_t> labels;
};

struct EmbeddingFitOptions {
  int batches = 32;  // Batches drawn (with replacement) from the examples.
  int batch_size = 8;
  int act_steps = 2;  // Deep-supervision steps per batch, one update each.
  double lr = 1e-2;   // Sign-SGD step (the official puzzle_emb_lr).
  double weight_decay = 0.1;
  uint64_t seed = 0;
  torch::Tensor init;  // [puzzle_emb_ndim] to start from; undefined: zeros (official init).
  // Optional: the fit stops (UNAVAILABLE) at the next batch once it reads true (a server that
  // is shutting down).
  const std::atomic<bool>* stop = nullptr;
};

struct EmbeddingFit {
  torch::Tensor embedding;     // [puzzle_emb_ndim] float32 on the CPU.
  std::vector<double> losses;  // Mean loss per labelled cell, one per update, in order.
  double seconds = 0;
};

// Fits an embedding for `examples` on `net` (which must have a puzzle embedding). Errors: no
// puzzle embedding, no example, an example of the wrong length; UNAVAILABLE when stopped.
absl::StatusOr<EmbeddingFit> FitPuzzleEmbedding(TrmNet& net,
                                                const std::vector<EmbeddingFitExample>& examples,
                                                const EmbeddingFitOptions& options);

// The mean loss per labelled cell and the exact accuracy (all labelled cells right) of `net` with
// `embedding` on `examples` after `act_steps` ACT steps, without gradients: how well a fit (or
// any embedding) explains examples.
struct EmbeddingScore {
  double loss = 0;
  double cell_accuracy = 0;
  double exact_accuracy = 0;
};
absl::StatusOr<EmbeddingScore> ScorePuzzleEmbedding(
    TrmNet& net, const torch::Tensor& embedding, const std::vector<EmbeddingFitExample>& examples,
    int act_steps);

}  // namespace trm::model
