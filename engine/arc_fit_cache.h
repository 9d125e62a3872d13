// ArcFitCache: the puzzle-embedding rows fitted at serving time for ARC tasks a checkpoint never
// saw, keyed by the task's demonstration pairs (ArcFitKey). A model with fitting on has
// `tasks * variants` spare rows after its trained puzzle ids; an entry owns `variants` of them.
// Entries are pinned while requests run on them, and only unpinned ones are evicted (least
// recently used first), so a row never changes under a request. Requests for a task being fitted
// wait for that one fit rather than starting another. Plain C++ (no torch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "base/sync.h"
#include "engine/engine_types.h"
#include "puzzle/arc.h"
#include "puzzle/arc_augment.h"

namespace trm::engine {

// A fitted task: one embedding row per variant (row v fitted on the pairs under variants[v]).
struct ArcFitted {
  std::vector<puzzle::ArcAugmentation> variants;
  std::vector<int32_t> rows;
  Result::ArcFit info;  // fitted = true; cache_hit is set per request.
};

// The cache key of a task: its pairs' shapes and colours, exactly (a hash map hashes it).
std::string ArcFitKey(const std::vector<puzzle::ArcExample>& train);

// A hash of the key that is the same in every process (absl's is salted per process): seeds a
// task's variants and fits, so a restarted server fits a task as before.
uint64_t ArcFitSeed(const std::string& key);

// The variants a task is fitted and answered under: the identity, then `count - 1` random
// augmentations drawn from a generator seeded by ArcFitSeed (the same task gets the same ones).
std::vector<puzzle::ArcAugmentation> ArcFitVariants(const std::string& key, int count);

class ArcFitCache {
 public:
  // Entries of `variants` rows each: entry e owns rows first_row + e * variants + [0, variants).
  ArcFitCache(int32_t first_row, int tasks, int variants);

  // Called once with the fit's outcome; on success the entry is pinned for the waiter.
  using Waiter = absl::AnyInvocable<void(absl::StatusOr<ArcFitted>) &&>;

  struct Lookup {
    // A hit: the entry, pinned for the caller (who calls Release when its request is done).
    std::optional<ArcFitted> ready;
    // A miss: the caller fits the task into these rows and calls Complete (the waiter was queued
    // behind that fit). Neither set: the waiter was queued behind a fit already running.
    std::optional<std::vector<int32_t>> fit_rows;
  };

  // Looks `key` up. `waiter` is kept (and later called) unless the result is a hit.
  // RESOURCE_EXHAUSTED when the key is new and every entry is pinned or being fitted.
  absl::StatusOr<Lookup> Acquire(const std::string& key, Waiter& waiter);

  // The fit of `key` ended. OK: the entry serves, each waiter gets it pinned. An error: the entry
  // is freed and each waiter gets the error. The waiters run on the calling thread, unlocked.
  void Complete(const std::string& key, absl::StatusOr<ArcFitted> fitted);

  // A request that held `key` pinned is done.
  void Release(const std::string& key);

  int entries() const;  // Fitted or being fitted.
  int rows_per_task() const { return variants_; }

 private:
  struct Entry {
    int slot = 0;
    bool ready = false;
    int pins = 0;
    uint64_t last_used = 0;
    ArcFitted fitted;
    std::vector<Waiter> waiters;
  };
  std::vector<int32_t> RowsOf(int slot) const;
  // A free slot, evicting the least recently used unpinned entry when none is; -1 when every
  // entry is pinned or fitting.
  int TakeSlotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int32_t first_row_;
  const int variants_;
  mutable Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<int> free_slots_ ABSL_GUARDED_BY(mu_);
  uint64_t tick_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace trm::engine
