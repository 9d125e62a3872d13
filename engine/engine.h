// The engine: loaded TRM models and the schedulers that run requests through them.
//
// One scheduler thread per loaded model. Requests wait in a bounded queue; at every ACT-step
// boundary the scheduler admits waiting requests' rows into free batch slots (carry reset to
// H_init / L_init), runs one ACT step for all occupied slots together and frees the rows that
// halted: continuous batching at ACT-step granularity. A request is one puzzle; its dihedral
// views and ARC variants are rows of the batch. The scheduler thread only runs tensors and
// decides halting; turning rows into a request's events and its one final Result happens on
// completion threads.
//
// This header is plain C++ (no torch types) so the gRPC server never sees torch's headers. The
// value types are engine/engine_types.h's; the implementation is engine/engine_internal.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/engine_types.h"

namespace trm::engine {

class Engine {
 public:
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const EngineOptions& options);
  virtual ~Engine() = default;  // Stops schedulers; pending requests get UNAVAILABLE.

  // Loads a checkpoint (own directory or official .pt) under `name` and starts its scheduler.
  // The first model of each task becomes that task's default unless `make_default` says so.
  virtual absl::Status LoadModel(const std::string& name, const std::string& path,
                                 bool make_default = false) = 0;
  // Atomically replaces `name`'s weights; in-flight requests finish on the old ones. On error
  // the old model keeps serving.
  virtual absl::Status ReloadModel(const std::string& name, const std::string& path) = 0;

  virtual std::vector<ModelInfo> ListModels() const = 0;
  // The model loaded as `name`; NOT_FOUND naming it when there is none.
  virtual absl::StatusOr<ModelInfo> GetModel(const std::string& name) const = 0;
  // `name` empty: the default model for `task`. NOT_FOUND when there is none.
  virtual absl::StatusOr<ModelInfo> ResolveModel(const std::string& name, TaskKind task) const = 0;

  // Queues a request; the engine takes it (by value) either way. When this returns OK, on_done
  // will be called exactly once. Never blocks: a full queue returns RESOURCE_EXHAUSTED, a
  // stopping engine UNAVAILABLE, bad tokens INVALID_ARGUMENT, an unknown model NOT_FOUND - and
  // then neither callback is ever called: the request, and what its callbacks hold, is released
  // before Submit returns.
  virtual absl::Status Submit(const std::string& model, Request request) = 0;
  // The same for an ARC test input. A task the model has no puzzle id for, sent with its train
  // pairs, is fitted first (EngineOptions::arc_fit) on the fit threads: OK is returned at once and
  // the answer (Result::arc_fit says how it was fitted) or a later refusal reaches on_done. A new
  // task while every fit-cache entry is in use: RESOURCE_EXHAUSTED.
  virtual absl::Status SubmitArc(const std::string& model, ArcRequest request) = 0;

  virtual ModelStats Stats(const std::string& model) const = 0;
  // Not owned; set before the first model is loaded.
  virtual void SetObserver(EngineObserver* observer) = 0;

  // Stops admitting (new Submits get UNAVAILABLE) and waits up to `timeout` for in-flight and
  // queued requests to finish (ARC fits stop at once: their requests get UNAVAILABLE); whatever
  // remains then is answered UNAVAILABLE. Returns once every
  // accepted request has had its on_done called.
  virtual void Drain(absl::Duration timeout) = 0;
};

}  // namespace trm::engine
