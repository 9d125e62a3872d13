// What engine/'s own tests and bench/ need beyond engine.h: adding a model already in memory and
// choosing scheduler variants (static batching, the baseline trm-bench compares against).
// Sees torch (through serving_model.h); the server does not include it.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "engine/scheduler.h"
#include "engine/serving_model.h"

namespace trm::engine {

class EngineInternal : public Engine {
 public:
  // Serves `model` under `name` with `config` (its options are replaced by the engine's).
  virtual absl::Status AddModel(const std::string& name, std::shared_ptr<const ServingModel> model,
                                bool make_default, SchedulerConfig config) = 0;
};

absl::StatusOr<std::unique_ptr<EngineInternal>> CreateEngineInternal(const EngineOptions& options);

}  // namespace trm::engine
