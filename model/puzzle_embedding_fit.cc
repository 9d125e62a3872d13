#include "model/puzzle_embedding_fit.h"

#include <chrono>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"

namespace trm::model {
namespace {

constexpr char kPuzzleEmbedding[] = "inner.puzzle_emb.weights";

// A network that shares every tensor of `net` (read only) but has a one-row puzzle embedding
// table of its own, initialised from `init` and learning.
TrmNet FittingNet(TrmNet& net, const torch::Tensor& init) {
  TrmConfig config = net->config();
  config.num_puzzle_identifiers = 1;
  TrmNet fit(config);  // Its own initial weights are replaced below.
  const auto device = net->parameters().front().device();
  fit->to(device);
  auto params = net->named_parameters();
  auto buffers = net->named_buffers();
  torch::NoGradGuard no_grad;
  for (auto& p : fit->named_parameters()) {
    if (p.key() == kPuzzleEmbedding) {
      p.value().set_data(init.to(device, torch::kFloat32).reshape({1, -1}).clone());
      p.value().set_requires_grad(true);
    } else {
      p.value().set_data(params[p.key()]);
      p.value().set_requires_grad(false);
    }
  }
  for (auto& b : fit->named_buffers()) b.value().set_data(buffers[b.key()]);
  return fit;
}

struct Batch {
  torch::Tensor inputs;  // [B, S] int32
  torch::Tensor labels;  // [B, S] int64, -100 where unscored
};

Batch MakeBatch(const std::vector<EmbeddingFitExample>& examples, const std::vector<size_t>& rows,
                torch::Device device) {
  const int64_t b = static_cast<int64_t>(rows.size());
  const int64_t s = static_cast<int64_t>(examples[rows[0]].inputs.size());
  auto inputs = torch::empty({b, s}, torch::kInt32);
  auto labels = torch::empty({b, s}, torch::kInt64);
  for (int64_t i = 0; i < b; ++i) {
    const EmbeddingFitExample& e = examples[rows[i]];
    std::copy(e.inputs.begin(), e.inputs.end(), inputs[i].data_ptr<int32_t>());
    int64_t* l = labels[i].data_ptr<int64_t>();
    for (int64_t j = 0; j < s; ++j) l[j] = e.labels[j] < 0 ? -100 : e.labels[j];
  }
  return {inputs.to(device), labels.to(device)};
}

// Sum of the labelled cells' cross-entropy and their count.
std::pair<torch::Tensor, int64_t> CellLoss(const torch::Tensor& logits,
                                           const torch::Tensor& labels) {
  const int64_t count = labels.ne(-100).sum().item<int64_t>();
  auto loss = torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), labels.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
  return {loss, count};
}

absl::Status Check(TrmNet& net, const std::vector<EmbeddingFitExample>& examples) {
  const TrmConfig& c = net->config();
  if (c.puzzle_emb_ndim <= 0) {
    return absl::FailedPreconditionError("the model has no puzzle embedding to fit");
  }
  if (examples.empty()) return absl::InvalidArgumentError("no example to fit on");
  for (size_t i = 0; i < examples.size(); ++i) {
    if (examples[i].inputs.size() != static_cast<size_t>(c.seq_len) ||
        examples[i].labels.size() != static_cast<size_t>(c.seq_len)) {
      return absl::InvalidArgumentError(absl::StrCat("example ", i, ": ", examples[i].inputs.size(),
                                                     " inputs and ", examples[i].labels.size(),
                                                     " labels, the model takes ", c.seq_len));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EmbeddingFit> FitPuzzleEmbedding(TrmNet& net,
                                                const std::vector<EmbeddingFitExample>& examples,
                                                const EmbeddingFitOptions& options) {
  if (absl::Status st = Check(net, examples); !st.ok()) return st;
  const auto start = std::chrono::steady_clock::now();
  const int64_t ndim = net->config().puzzle_emb_ndim;
  TrmNet fit = FittingNet(net, options.init.defined() ? options.init : torch::zeros({ndim}));
  torch::Tensor embedding = fit->named_parameters()[kPuzzleEmbedding];
  const auto device = embedding.device();
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<size_t> pick(0, examples.size() - 1);
  EmbeddingFit result;
  for (int b = 0; b < options.batches; ++b) {
    if (options.stop != nullptr && options.stop->load(std::memory_order_relaxed)) {
      return absl::UnavailableError("puzzle embedding fit stopped: the server is shutting down");
    }
    std::vector<size_t> rows(std::max(1, options.batch_size));
    for (auto& r : rows) r = pick(rng);
    const Batch batch = MakeBatch(examples, rows, device);
    const auto ids = torch::zeros({static_cast<int64_t>(rows.size())},
                                  torch::TensorOptions().dtype(torch::kInt32).device(device));
    Carry carry = fit->InitialCarry(static_cast<int64_t>(rows.size()));
    for (int a = 0; a < std::max(1, options.act_steps); ++a) {
      auto [next, out] = fit->ActStep(carry, batch.inputs, ids);
      auto [loss, count] = CellLoss(out.logits, batch.labels);
      if (count > 0) {
        (loss / static_cast<double>(count)).backward();
        torch::NoGradGuard no_grad;
        embedding.mul_(1.0 - options.lr * options.weight_decay);
        embedding.add_(embedding.grad().sign(), -options.lr);
        embedding.mutable_grad().zero_();
        result.losses.push_back(loss.item<double>() / static_cast<double>(count));
      }
      carry = {next.z_h.detach(), next.z_l.detach()};
    }
  }
  result.embedding = embedding.detach().reshape({-1}).to(torch::kCPU).clone();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

absl::StatusOr<EmbeddingScore> ScorePuzzleEmbedding(
    TrmNet& net, const torch::Tensor& embedding, const std::vector<EmbeddingFitExample>& examples,
    int act_steps) {
  if (absl::Status st = Check(net, examples); !st.ok()) return st;
  torch::NoGradGuard no_grad;
  TrmNet fit = FittingNet(net, embedding);
  const auto device = net->parameters().front().device();
  double loss_sum = 0, cells = 0, right_cells = 0, exact = 0;
  constexpr size_t kChunk = 32;
  for (size_t begin = 0; begin < examples.size(); begin += kChunk) {
    std::vector<size_t> rows;
    for (size_t i = begin; i < std::min(examples.size(), begin + kChunk); ++i) rows.push_back(i);
    const Batch batch = MakeBatch(examples, rows, device);
    const auto ids = torch::zeros({static_cast<int64_t>(rows.size())},
                                  torch::TensorOptions().dtype(torch::kInt32).device(device));
    Carry carry = fit->InitialCarry(static_cast<int64_t>(rows.size()));
    StepOutputs out;
    for (int a = 0; a < std::max(1, act_steps); ++a)
      std::tie(carry, out) = fit->ActStep(carry, batch.inputs, ids);
    auto [loss, count] = CellLoss(out.logits, batch.labels);
    loss_sum += loss.item<double>();
    cells += static_cast<double>(count);
    const auto labelled = batch.labels.ne(-100);
    const auto right = out.logits.argmax(-1).eq(batch.labels).logical_and(labelled);
    right_cells += right.sum().item<double>();
    exact += right.sum(-1).eq(labelled.sum(-1)).sum().item<double>();
  }
  EmbeddingScore score;
  score.loss = cells > 0 ? loss_sum / cells : 0;
  score.cell_accuracy = cells > 0 ? right_cells / cells : 0;
  score.exact_accuracy = exact / static_cast<double>(examples.size());
  return score;
}

}  // namespace trm::model
