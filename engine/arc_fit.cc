#include "engine/arc_fit.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "engine/serving_model.h"

namespace trm::engine {

namespace {
constexpr char kPuzzleEmbedding[] = "inner.puzzle_emb.weights";
}  // namespace

std::shared_ptr<ArcFitState> EnableArcFitting(const ServingModel& model,
                                              const ArcFitOptions& options) {
  if (options.cache_tasks <= 0 || options.variants <= 0) return nullptr;
  if (model.info.task != TaskKind::kArc || model.config.puzzle_emb_ndim <= 0) return nullptr;
  auto params = model.net->named_parameters();
  torch::Tensor* table = params.find(kPuzzleEmbedding);
  if (table == nullptr) return nullptr;
  const int64_t trained = table->size(0);
  const int64_t spare = int64_t{options.cache_tasks} * options.variants;
  torch::NoGradGuard no_grad;
  // set_data keeps the parameter (and the module's handle on it) and gives it the larger table;
  // the step reads the table through it, so the spare rows are servable at once.
  table->set_data(torch::cat({*table, torch::zeros({spare, table->size(1)}, table->options())}));
  return std::make_shared<ArcFitState>(static_cast<int32_t>(trained), options, *table);
}

std::vector<model::EmbeddingFitExample> ArcFitExamples(
    const std::vector<puzzle::ArcExample>& train, const puzzle::ArcAugmentation& augmentation) {
  std::vector<model::EmbeddingFitExample> examples;
  for (const puzzle::ArcExample& pair : train) {
    if (!pair.output) continue;
    model::EmbeddingFitExample e;
    e.inputs = puzzle::ArcGridToTokens(augmentation.Apply(pair.input));
    e.labels = puzzle::ArcGridToTokens(augmentation.Apply(*pair.output));
    for (int32_t& label : e.labels) {
      if (label == puzzle::kArcPadToken) label = -1;
    }
    examples.push_back(std::move(e));
  }
  return examples;
}

absl::StatusOr<ArcFitted> FitArcTask(const ServingModel& model, ArcFitState& state,
                                     const std::vector<puzzle::ArcExample>& train,
                                     const std::vector<puzzle::ArcAugmentation>& variants,
                                     const std::vector<int32_t>& rows, const ArcFitOptions& options,
                                     uint64_t seed, const std::atomic<bool>* stop) {
  const auto start = std::chrono::steady_clock::now();
  ArcFitted fitted;
  fitted.variants = variants;
  fitted.rows = rows;
  fitted.info.fitted = true;
  double loss_before = 0, loss_after = 0;
  for (size_t v = 0; v < variants.size() && v < rows.size(); ++v) {
    model::EmbeddingFitOptions o;
    o.act_steps = std::max(1, options.act_steps);
    o.batches = std::max(1, (options.updates + o.act_steps - 1) / o.act_steps);
    o.batch_size = options.batch_size;
    o.lr = options.lr;
    o.weight_decay = options.weight_decay;
    o.seed = seed + v;
    o.stop = stop;
    const auto examples = ArcFitExamples(train, variants[v]);
    absl::StatusOr<model::EmbeddingFit> fit;
    absl::StatusOr<model::EmbeddingScore> before, after;
    try {
      const int64_t ndim = model.config.puzzle_emb_ndim;
      before = model::ScorePuzzleEmbedding(model.net, torch::zeros({ndim}), examples, o.act_steps);
      if (!before.ok()) return before.status();
      fit = model::FitPuzzleEmbedding(model.net, examples, o);
      if (!fit.ok()) return fit.status();
      after = model::ScorePuzzleEmbedding(model.net, fit->embedding, examples, o.act_steps);
      if (!after.ok()) return after.status();
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("arc fit: ", e.what()));
    }
    {
      torch::NoGradGuard no_grad;
      state.table[rows[v]].copy_(
          fit->embedding.to(state.table.device(), state.table.scalar_type()));
    }
    loss_before += before->loss;
    loss_after += after->loss;
    fitted.info.updates = static_cast<int>(fit->losses.size());
  }
  const double n = static_cast<double>(std::max<size_t>(1, variants.size()));
  fitted.info.loss_before = static_cast<float>(loss_before / n);
  fitted.info.loss_after = static_cast<float>(loss_after / n);
  fitted.info.fit_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return fitted;
}

}  // namespace trm::engine
