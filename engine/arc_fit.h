// Test-time fitting for ARC tasks a checkpoint never saw, as the engine runs it: spare rows in
// the served model's puzzle-embedding table, and the fit of one task into its rows
// (model/puzzle_embedding_fit.h does the optimisation). Internal to engine/: sees torch.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/arc_fit_cache.h"
#include "engine/engine_types.h"
#include "model/puzzle_embedding_fit.h"
#include "puzzle/arc.h"
#include "puzzle/arc_augment.h"

namespace trm::engine {

struct ServingModel;

struct ArcFitState {
  ArcFitState(int32_t first_row, const ArcFitOptions& options, torch::Tensor table)
      : cache(first_row, options.cache_tasks, options.variants), table(std::move(table)) {}
  ArcFitCache cache;
  // The served network's puzzle-embedding table (every row, spare ones included). Fits write
  // only the rows of their entry, which no request reads until the fit is complete.
  torch::Tensor table;
};

// Gives `model` (not yet serving) options.cache_tasks * options.variants zero rows after its
// trained puzzle ids and returns what fits need; null when the model cannot be fitted for (not
// an ARC model, no puzzle embedding) or fitting is off (cache_tasks 0).
std::shared_ptr<ArcFitState> EnableArcFitting(const ServingModel& model,
                                              const ArcFitOptions& options);

// The pairs as fitting examples under `augmentation`: the input's 900 tokens, and the output's
// as labels with the padding unscored (-1), as the official builder lays out a training pair.
std::vector<model::EmbeddingFitExample> ArcFitExamples(const std::vector<puzzle::ArcExample>& train,
                                                       const puzzle::ArcAugmentation& augmentation);

// Fits the task: variant v's embedding on the pairs under variants[v], written into rows[v] of
// state.table. Stops early (UNAVAILABLE) once `stop` reads true.
absl::StatusOr<ArcFitted> FitArcTask(const ServingModel& model, ArcFitState& state,
                                     const std::vector<puzzle::ArcExample>& train,
                                     const std::vector<puzzle::ArcAugmentation>& variants,
                                     const std::vector<int32_t>& rows, const ArcFitOptions& options,
                                     uint64_t seed, const std::atomic<bool>* stop);

}  // namespace trm::engine
