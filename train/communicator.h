// A data-parallel process group for trm-train on torch.distributed's c10d, the engine PyTorch's
// own DDP and torchrun use: a TCPStore for the rendezvous (hosted by rank 0 at MASTER_ADDR:
// MASTER_PORT) and ProcessGroupGloo on the CPU, ProcessGroupNCCL on CUDA where the libtorch has it.
// Nothing here is a collective of our own.
//
// What this layer adds to c10d is failure handling a person can act on. Every rank writes a
// heartbeat into the store; when a collective fails (a peer's socket closed, or the group's
// timeout passed) the rank looks at the store and names the rank at fault: one that reported an
// error of its own, one whose heartbeat stopped (it died or is stopped), or one that is alive but
// never joined the collective (it hangs). A failure is therefore reported within about
// --dist_timeout_s plus a few heartbeats, never as a hang.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace trm::train {

// The torchrun environment (also what a Kubeflow PyTorchJob or scripts/launch.py sets).
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr;
  int master_port = 0;
};

// Reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (required together) and LOCAL_RANK,
// LOCAL_WORLD_SIZE (optional: a PyTorchJob pod runs one process). nullopt when RANK and
// WORLD_SIZE are both unset: one process, no group. A partial or malformed environment is an
// error naming the variable. `getenv` is injectable for tests.
absl::StatusOr<std::optional<DistEnv>> DistEnvFromEnvironment(
    const std::function<const char*(const char*)>& getenv = nullptr);

struct CommOptions {
  std::string backend = "auto";  // auto (nccl for a CUDA device when built with it) | gloo | nccl
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};  // Rendezvous and each collective.
  std::chrono::milliseconds heartbeat{1000};  // Period of the liveness key (capped at timeout/10).
  int64_t bucket_bytes = 25 << 20;    // Gradients travel in flat buffers of at most this (DDP's).
  torch::Device device{torch::kCPU};  // Where the training tensors live.
  // Gloo's address: empty = GLOO_SOCKET_IFNAME's interface, else the one this machine's hostname
  // resolves to (as torch.distributed); Connect picks 127.0.0.1 for a loopback MASTER_ADDR.
  std::string gloo_hostname;
};

// Backends compiled into this binary ("gloo", "nccl").
std::vector<std::string> CompiledBackends();

class Communicator {
 public:
  // Joins the group described by `env`: rank 0 hosts the store, every rank waits for all to
  // join (naming those that did not, after the timeout), then the process group is built.
  static absl::StatusOr<std::unique_ptr<Communicator>> Connect(const DistEnv& env,
                                                               const CommOptions& options);
  // The same over a store built by the caller (tests run several ranks in one process).
  // `where` describes the store in messages.
  static absl::StatusOr<std::unique_ptr<Communicator>> Create(c10::intrusive_ptr<c10d::Store> store,
                                                              int rank, int world_size,
                                                              const CommOptions& options,
                                                              const std::string& where);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const std::string& backend() const { return backend_; }
  const CommOptions& options() const { return options_; }

  // The training step this rank is at, shown in the heartbeat and in failure messages.
  void set_step(int64_t step) { step_.store(step); }

  // In place, every rank: each tensor becomes the sum over ranks. The tensors travel in a few
  // flat buckets (consecutive tensors of one dtype, at most bucket_bytes each), all in flight
  // at once, not one collective per tensor. `what` names the operation in errors.
  absl::Status AllReduceSum(const std::vector<torch::Tensor>& tensors, const std::string& what);
  // In place: every rank receives rank 0's values (bucketed like AllReduceSum).
  absl::Status Broadcast(const std::vector<torch::Tensor>& tensors, const std::string& what);
  // Every rank's `t` (same shape everywhere) concatenated along dim 0 in rank order.
  absl::StatusOr<torch::Tensor> AllGather(const torch::Tensor& t, const std::string& what);
  // Like AllGather, but only rank 0 receives (others get an undefined tensor).
  absl::StatusOr<torch::Tensor> GatherToRoot(const torch::Tensor& t, const std::string& what);
  // Rank 0's `value` on every rank, through the store (small metadata, e.g. the options).
  absl::StatusOr<std::string> ShareFromRoot(const std::string& key, const std::string& value);

  // This rank failed for a reason of its own (bad data, a full disk): records it in the store
  // for the others to quote, and closes this rank's connections so they stop waiting for it.
  // Rank 0, which hosts the store, then waits (bounded) until the others have read it.
  // Nothing happens when a collective already failed here (its diagnosis was recorded).
  void ReportFailure(const std::string& message);
  bool failed() const { return failed_; }

  // The normal end: every rank arrives, then the heartbeat stops. After Finish the group is
  // gone; rank 0 keeps the store until every rank has left it.
  absl::Status Finish();

  // Collectives issued so far (each bucket counts once), for tests of the bucketing.
  int64_t collectives() const { return collectives_; }

 private:
  Communicator() = default;
  // Runs `launch` (which starts c10d work), waits, and on failure returns the diagnosis.
  absl::Status Run(const std::string& what,
                   const std::function<void(std::vector<c10::intrusive_ptr<c10d::Work>>&)>& launch);
  // Runs `op` (one collective, in place) on flat buckets of `tensors`, then copies back.
  absl::Status Bucketed(
      const std::vector<torch::Tensor>& tensors, const std::string& what,
      const std::function<c10::intrusive_ptr<c10d::Work>(std::vector<torch::Tensor>&)>& op);
  // After a failed collective: names the ranks at fault (see the file comment).
  std::string Diagnose(const std::string& cause);
  void HeartbeatLoop();
  void StopHeartbeat();
  // Rank 0: keeps the store up until every other rank has checked in or is known gone.
  void LingerForOthers(const std::vector<int>& gone);
  std::string Key(const std::string& what, int rank) const;
  torch::Tensor ToCommDevice(const torch::Tensor& t) const;

  struct Impl;  // c10d's process group (kept out of this header).
  std::unique_ptr<Impl> impl_;
  c10::intrusive_ptr<c10d::Store> store_;
  std::string where_;
  CommOptions options_;
  std::string backend_;
  int rank_ = 0;
  int world_size_ = 1;
  std::atomic<int64_t> step_{0};
  int64_t collectives_ = 0;
  bool failed_ = false;

  std::thread heartbeat_;
  std::mutex hb_mu_;
  std::condition_variable hb_cv_;
  bool hb_stop_ = false;
};

}  // namespace trm::train
