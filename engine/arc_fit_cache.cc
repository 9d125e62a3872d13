#include "engine/arc_fit_cache.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace trm::engine {

std::string ArcFitKey(const std::vector<puzzle::ArcExample>& train) {
  std::string key;
  const auto add = [&key](const puzzle::ArcGrid& g) {
    key.push_back(static_cast<char>(g.rows));
    key.push_back(static_cast<char>(g.cols));
    key.append(g.cells.begin(), g.cells.end());
  };
  for (const puzzle::ArcExample& pair : train) {
    add(pair.input);
    if (pair.output) add(*pair.output);
  }
  return key;
}

uint64_t ArcFitSeed(const std::string& key) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits.
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::vector<puzzle::ArcAugmentation> ArcFitVariants(const std::string& key, int count) {
  std::vector<puzzle::ArcAugmentation> variants(1);  // The identity.
  std::mt19937_64 rng(ArcFitSeed(key));
  while (static_cast<int>(variants.size()) < count) {
    puzzle::ArcAugmentation a = puzzle::RandomArcAugmentation(rng);
    bool seen = false;
    for (const auto& v : variants) seen = seen || v == a;
    if (!seen) variants.push_back(a);
  }
  return variants;
}

ArcFitCache::ArcFitCache(int32_t first_row, int tasks, int variants)
    : first_row_(first_row), variants_(variants) {
  for (int slot = tasks - 1; slot >= 0; --slot) free_slots_.push_back(slot);
}

std::vector<int32_t> ArcFitCache::RowsOf(int slot) const {
  std::vector<int32_t> rows;
  for (int v = 0; v < variants_; ++v) rows.push_back(first_row_ + slot * variants_ + v);
  return rows;
}

int ArcFitCache::TakeSlotLocked() {
  if (!free_slots_.empty()) {
    const int slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (!it->second.ready || it->second.pins > 0) continue;
    if (victim == entries_.end() || it->second.last_used < victim->second.last_used) victim = it;
  }
  if (victim == entries_.end()) return -1;
  const int slot = victim->second.slot;
  entries_.erase(victim);
  return slot;
}

absl::StatusOr<ArcFitCache::Lookup> ArcFitCache::Acquire(const std::string& key, Waiter& waiter) {
  MutexLock lock(&mu_);
  Lookup lookup;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    Entry& e = it->second;
    if (e.ready) {
      ++e.pins;
      e.last_used = ++tick_;
      lookup.ready = e.fitted;
      lookup.ready->info.cache_hit = true;
    } else {
      e.waiters.push_back(std::move(waiter));
    }
    return lookup;
  }
  const int slot = TakeSlotLocked();
  if (slot < 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("arc fit: all ", entries_.size(),
                     " fitted-task slots are in use or being fitted; retry later "
                     "(--arc_fit_cache_tasks sets how many)"));
  }
  Entry& e = entries_[key];
  e.slot = slot;
  e.last_used = ++tick_;
  e.waiters.push_back(std::move(waiter));
  lookup.fit_rows = RowsOf(slot);
  return lookup;
}

void ArcFitCache::Complete(const std::string& key, absl::StatusOr<ArcFitted> fitted) {
  std::vector<Waiter> waiters;
  {
    MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    waiters.swap(e.waiters);
    if (fitted.ok()) {
      e.ready = true;
      e.fitted = *fitted;
      e.pins += static_cast<int>(waiters.size());
      e.last_used = ++tick_;
    } else {
      free_slots_.push_back(e.slot);
      entries_.erase(it);
    }
  }
  for (Waiter& w : waiters) std::move(w)(fitted);
}

void ArcFitCache::Release(const std::string& key) {
  MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.pins > 0) --it->second.pins;
}

int ArcFitCache::entries() const {
  MutexLock lock(&mu_);
  return static_cast<int>(entries_.size());
}

}  // namespace trm::engine
