#include "engine/completion_executor.h"

#include <algorithm>
#include <memory>

namespace trm::engine {

CompletionExecutor::CompletionExecutor(int threads) {
  const int n = std::max(threads, 1);
  for (int i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>());
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->thread = std::thread([this, s] { Run(*s); });
  }
}

CompletionExecutor::~CompletionExecutor() {
  for (auto& shard : shards_) {
    MutexLock lock(&shard->mu);
    shard->stopping = true;
    shard->wake.Signal();
  }
  for (auto& shard : shards_) shard->thread.join();
}

void CompletionExecutor::Post(uint64_t key, Task task) {
  Shard& shard = ShardOf(key);
  MutexLock lock(&shard.mu);
  shard.queue.push_back(std::move(task));
  shard.wake.Signal();
}

void CompletionExecutor::PostAll(std::vector<std::pair<uint64_t, Task>>& tasks) {
  // Stable by shard, so each shard keeps the posting order of its keys.
  std::stable_sort(tasks.begin(), tasks.end(), [this](const auto& a, const auto& b) {
    return a.first % shards_.size() < b.first % shards_.size();
  });
  for (size_t i = 0; i < tasks.size();) {
    Shard& shard = ShardOf(tasks[i].first);
    MutexLock lock(&shard.mu);
    for (; i < tasks.size() && &ShardOf(tasks[i].first) == &shard; ++i) {
      shard.queue.push_back(std::move(tasks[i].second));
    }
    shard.wake.Signal();
  }
  tasks.clear();
}

void CompletionExecutor::WaitIdle() {
  for (auto& shard : shards_) {
    MutexLock lock(&shard->mu);
    while (!shard->queue.empty() || shard->running) shard->drained.Wait(&shard->mu);
  }
}

void CompletionExecutor::Run(Shard& shard) {
  MutexLock lock(&shard.mu);
  for (;;) {
    while (shard.queue.empty() && !shard.stopping) shard.wake.Wait(&shard.mu);
    if (shard.queue.empty()) return;  // Stopping, and everything posted has run.
    Task task = std::move(shard.queue.front());
    shard.queue.pop_front();
    shard.running = true;
    shard.mu.Unlock();
    std::move(task)();
    task = nullptr;  // Whatever it captured is released outside the lock: it may post again.
    shard.mu.Lock();
    shard.running = false;
    if (shard.queue.empty()) shard.drained.SignalAll();
  }
}

}  // namespace trm::engine
