#include "train/communicator.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "train/c10d_group.h"

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

namespace trm::train {

namespace {

using Clock = std::chrono::steady_clock;
using WorkList = std::vector<c10::intrusive_ptr<::c10d::Work>>;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string String(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

absl::Status ParseInt(const std::function<const char*(const char*)>& getenv, const char* name,
                      int lo, int* out) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat(name,
                     " is not set (a torchrun environment needs RANK, WORLD_SIZE, MASTER_ADDR and "
                     "MASTER_PORT together)"));
  }
  if (!absl::SimpleAtoi(v, out) || *out < lo) {
    return absl::InvalidArgumentError(absl::StrCat(name, "='", v, "' is not an integer >= ", lo));
  }
  return absl::OkStatus();
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

std::string Seconds(Clock::duration d) {
  return absl::StrFormat("%.1f s", std::chrono::duration<double>(d).count());
}

// A rank that fails or dies closes its sockets while the others may still be writing to them
// (Gloo's pairs and the store write without MSG_NOSIGNAL). That write must fail with EPIPE, so the
// surviving rank reports which rank failed and why, instead of being killed by SIGPIPE without a
// word (Communicator.ARankThatFailsIsNamedWithItsMessage was, once, in a whole-suite run). Connect
// calls it before its store, Create for stores made elsewhere.
void IgnoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

#ifndef TRM_HAVE_NCCL
absl::StatusOr<c10::intrusive_ptr<C10dGroup>> MakeNcclGroup(
    const c10::intrusive_ptr<::c10d::Store>&, int, int, std::chrono::milliseconds) {
  return absl::UnimplementedError("this trm-train was built without NCCL");
}
#endif

struct Communicator::Impl {
  c10::intrusive_ptr<C10dGroup> group;
};

absl::StatusOr<std::optional<DistEnv>> DistEnvFromEnvironment(
    const std::function<const char*(const char*)>& getenv_fn) {
  const std::function<const char*(const char*)> getenv =
      getenv_fn ? getenv_fn : [](const char* n) -> const char* { return std::getenv(n); };
  auto set = [&](const char* n) {
    const char* v = getenv(n);
    return v != nullptr && *v != '\0';
  };
  if (!set("RANK") && !set("WORLD_SIZE")) return std::nullopt;
  DistEnv env;
  if (auto st = ParseInt(getenv, "WORLD_SIZE", 1, &env.world_size); !st.ok()) return st;
  if (auto st = ParseInt(getenv, "RANK", 0, &env.rank); !st.ok()) return st;
  if (env.rank >= env.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("RANK=", env.rank, " is not below WORLD_SIZE=", env.world_size));
  }
  if (!set("MASTER_ADDR")) {
    return absl::InvalidArgumentError(
        "MASTER_ADDR is not set (the host of rank 0, which serves the rendezvous store)");
  }
  env.master_addr = getenv("MASTER_ADDR");
  if (auto st = ParseInt(getenv, "MASTER_PORT", 1, &env.master_port); !st.ok()) return st;
  if (env.master_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("MASTER_PORT=", env.master_port, " > 65535"));
  }
  env.local_world_size = 1;
  if (set("LOCAL_WORLD_SIZE")) {
    if (auto st = ParseInt(getenv, "LOCAL_WORLD_SIZE", 1, &env.local_world_size); !st.ok()) {
      return st;
    }
  }
  if (set("LOCAL_RANK")) {
    if (auto st = ParseInt(getenv, "LOCAL_RANK", 0, &env.local_rank); !st.ok()) return st;
  }
  return env;
}

std::vector<std::string> CompiledBackends() {
  std::vector<std::string> out;
#ifdef USE_C10D_GLOO
  out.push_back("gloo");
#endif
#ifdef TRM_HAVE_NCCL
  out.push_back("nccl");
#endif
  return out;
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Connect(const DistEnv& env,
                                                                    const CommOptions& options) {
  IgnoreSigpipe();
  ::c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(env.master_port);
  so.isServer = env.rank == 0;
  so.numWorkers = env.world_size;
  so.waitWorkers = false;  // Create() waits itself, to name the ranks that never came.
  so.timeout = options.timeout;
  const std::string where = absl::StrCat(env.master_addr, ":", env.master_port);
  c10::intrusive_ptr<::c10d::Store> store;
  try {
    store = c10::make_intrusive<::c10d::TCPStore>(env.master_addr, so);
  } catch (const std::exception& e) {
    if (env.rank == 0) {
      return absl::UnavailableError(absl::StrCat("rank 0 cannot serve the rendezvous store on ",
                                                 where, " (MASTER_ADDR:MASTER_PORT): ", e.what()));
    }
    return absl::UnavailableError(
        absl::StrCat("rank ", env.rank, " cannot reach the rendezvous store at ", where,
                     " (served by rank 0) within --dist_timeout_s: ", e.what()));
  }
  // A loopback master means every rank is on this machine: the loopback is enough for Gloo.
  CommOptions o = options;
  if (o.gloo_hostname.empty() && IsLoopback(env.master_addr) &&
      std::getenv("GLOO_SOCKET_IFNAME") == nullptr) {
    o.gloo_hostname = "127.0.0.1";
  }
  return Create(store, env.rank, env.world_size, o, where);
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Create(
    c10::intrusive_ptr<::c10d::Store> store, int rank, int world_size, const CommOptions& options,
    const std::string& where) {
  IgnoreSigpipe();
  std::unique_ptr<Communicator> c(new Communicator());
  c->store_ = store;
  c->where_ = where;
  c->options_ = options;
  c->rank_ = rank;
  c->world_size_ = world_size;
  c->impl_ = std::make_unique<Impl>();
  c->options_.heartbeat = std::min(options.heartbeat, options.timeout / 10);

  std::string backend = options.backend;
  if (backend == "auto") {
#ifdef TRM_HAVE_NCCL
    backend = options.device.is_cuda() ? "nccl" : "gloo";
#else
    backend = "gloo";
#endif
  }
  const auto compiled = CompiledBackends();
  if (std::find(compiled.begin(), compiled.end(), backend) == compiled.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dist_backend: '", backend, "' is not built into this trm-train (built: ",
                     compiled.empty() ? "none" : absl::StrJoin(compiled, ", "),
                     "; gloo needs libgloo-dev, nccl a CUDA libtorch with NCCL)"));
  }
  if (backend == "nccl" && !options.device.is_cuda()) {
    return absl::InvalidArgumentError("dist_backend: nccl needs a CUDA device (--device cuda)");
  }
  c->backend_ = backend;

  // Join: each rank announces itself, then waits for all, naming the absent after the timeout.
  try {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    store->set(c->Key("joined", rank), Bytes(absl::StrCat(host, " pid ", getpid())));
    store->set(c->Key("hb", rank), Bytes("0 0"));
    std::vector<int> missing;
    const auto deadline = Clock::now() + options.timeout;
    for (;;) {
      missing.clear();
      for (int r = 0; r < world_size; ++r) {
        if (!store->check({c->Key("joined", r)})) missing.push_back(r);
      }
      if (missing.empty() || Clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!missing.empty()) {
      return absl::DeadlineExceededError(
          absl::StrCat("rendezvous at ", where, ": rank", missing.size() > 1 ? "s " : " ",
                       absl::StrJoin(missing, ", "), " of ", world_size, " did not join within ",
                       Seconds(options.timeout),
                       " (--dist_timeout_s); every rank must start with the same "
                       "MASTER_ADDR, MASTER_PORT and WORLD_SIZE"));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("rendezvous at ", where, ": the store failed: ", e.what()));
  }

  auto pg_store = c10::make_intrusive<::c10d::PrefixStore>("trm/pg", store);
  try {
    if (backend == "gloo") {
#ifdef USE_C10D_GLOO
      auto o = ::c10d::ProcessGroupGloo::Options::create(options.timeout);
      const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
      if (!options.gloo_hostname.empty()) {
        o->devices.push_back(
            ::c10d::ProcessGroupGloo::createDeviceForHostname(options.gloo_hostname));
      } else if (iface != nullptr && *iface != '\0') {
        o->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForInterface(iface));
      } else {
        o->devices.push_back(::c10d::ProcessGroupGloo::createDefaultDevice());
      }
      c->impl_->group =
          c10::make_intrusive<::c10d::ProcessGroupGloo>(pg_store, rank, world_size, o);
#endif
    } else {
      auto g = MakeNcclGroup(pg_store, rank, world_size, options.timeout);
      if (!g.ok()) return g.status();
      c->impl_->group = *g;
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", rank, ": cannot build the ", backend,
                                               " process group (store ", where, "): ", e.what()));
  }
  c->heartbeat_ = std::thread([p = c.get()] { p->HeartbeatLoop(); });
  return c;
}

Communicator::~Communicator() {
  StopHeartbeat();
  if (impl_) impl_->group.reset();
}

std::string Communicator::Key(const std::string& what, int rank) const {
  return absl::StrCat("trm/", what, "/", rank);
}

void Communicator::HeartbeatLoop() {
  std::unique_lock<std::mutex> lock(hb_mu_);
  for (int64_t seq = 1; !hb_stop_; ++seq) {
    lock.unlock();
    try {
      store_->set(Key("hb", rank_), Bytes(absl::StrCat(seq, " ", step_.load())));
    } catch (const std::exception&) {
      return;  // The store is gone (rank 0 ended); a collective will say so.
    }
    lock.lock();
    hb_cv_.wait_for(lock, options_.heartbeat, [this] { return hb_stop_; });
  }
}

void Communicator::StopHeartbeat() {
  {
    std::lock_guard<std::mutex> lock(hb_mu_);
    hb_stop_ = true;
  }
  hb_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

torch::Tensor Communicator::ToCommDevice(const torch::Tensor& t) const {
  auto out = t.detach();
  if (backend_ == "nccl") {
    out = out.to(options_.device);
  } else {
    out = out.to(torch::kCPU);
    // Gloo reduces the basic numeric types: booleans travel as bytes, bfloat16 as float32.
    if (out.scalar_type() == torch::kBool) out = out.to(torch::kUInt8);
    if (out.scalar_type() == torch::kBFloat16) out = out.to(torch::kFloat);
  }
  return out.contiguous();
}

absl::Status Communicator::Run(const std::string& what,
                               const std::function<void(WorkList&)>& launch) {
  if (failed_ || !impl_->group) {
    return absl::FailedPreconditionError(
        absl::StrCat("distributed: ", what, ": the process group already failed"));
  }
  WorkList works;
  std::string cause;
  try {
    launch(works);
  } catch (const std::exception& e) {
    cause = e.what();
  }
  // Every work is waited for, even after one failed: each ends within the timeout, and none may
  // still run when the group is torn down.
  for (auto& w : works) {
    try {
      w->wait();
    } catch (const std::exception& e) {
      if (cause.empty()) cause = e.what();
    }
  }
  collectives_ += static_cast<int64_t>(works.size());
  if (cause.empty()) return absl::OkStatus();
  // c10d's messages run to several lines (a C++ backtrace); the first says what happened.
  std::string first = cause.substr(0, cause.find('\n'));
  return absl::UnavailableError(absl::StrCat("distributed: ", what, " at step ", step_.load(),
                                             " failed on rank ", rank_, ": ", Diagnose(first)));
}

std::string Communicator::Diagnose(const std::string& cause) {
  failed_ = true;
  const std::string c10d = " [c10d: " + cause + "]";
  auto store_gone = [&](const std::exception& e) {
    StopHeartbeat();
    return absl::StrCat("rank 0, which serves the rendezvous store at ", where_,
                        ", does not answer (it died, hangs or its machine is unreachable): ",
                        std::string(e.what()).substr(0, std::string(e.what()).find('\n')), c10d);
  };
  try {
    store_->set(Key("failed", rank_), Bytes(std::to_string(step_.load())));
  } catch (const std::exception& e) {
    return store_gone(e);
  }
  // Closing this rank's connections makes peers that wait on it fail now, not at their timeout.
  impl_->group.reset();

  enum class State { kUnknown, kAlive, kFailedToo, kOwnError };
  struct Peer {
    State state = State::kUnknown;
    std::string hb, message;
  };
  std::map<int, Peer> peers;
  const auto start = Clock::now();
  auto poll = [&]() -> bool {  // True when every peer has checked in.
    bool all_in = true;
    for (int r = 0; r < world_size_; ++r) {
      if (r == rank_) continue;
      Peer& p = peers[r];
      if (p.state == State::kFailedToo || p.state == State::kOwnError) continue;
      if (store_->check({Key("error", r)})) {
        p.state = State::kOwnError;
        p.message = String(store_->get(Key("error", r)));
        continue;
      }
      if (store_->check({Key("failed", r)})) {
        p.state = State::kFailedToo;
        continue;
      }
      all_in = false;
      const std::string hb = String(store_->get(Key("hb", r)));
      if (p.hb.empty()) {
        p.hb = hb;
      } else if (hb != p.hb) {
        p.state = State::kAlive;
        p.hb = hb;
      }
    }
    return all_in;
  };
  // A few heartbeats tell the dead (or stopped) from the living; the living that have not
  // failed yet are given the timeout to do so (they may be waiting on the culprit themselves).
  const auto window = 4 * options_.heartbeat;
  try {
    while (!poll() && Clock::now() - start < window) {
      std::this_thread::sleep_for(options_.heartbeat / 10);
    }
    auto alive_pending = [&] {
      for (auto& [r, p] : peers)
        if (p.state == State::kAlive) return true;
      return false;
    };
    while (alive_pending() && !poll() && Clock::now() - start < window + options_.timeout) {
      std::this_thread::sleep_for(options_.heartbeat / 10);
    }
  } catch (const std::exception& e) {
    return store_gone(e);
  }

  std::vector<std::string> errors, gone, hung;
  std::vector<int> gone_ranks;
  for (auto& [r, p] : peers) {
    const std::string at =
        p.hb.empty() ? "" : absl::StrCat(" (last at step ", p.hb.substr(p.hb.find(' ') + 1), ")");
    switch (p.state) {
      case State::kOwnError:
        errors.push_back(absl::StrCat("rank ", r, " failed: ", p.message));
        break;
      case State::kUnknown:
        gone.push_back(absl::StrCat("rank ", r, at));
        gone_ranks.push_back(r);
        break;
      case State::kAlive:
        hung.push_back(absl::StrCat("rank ", r, at));
        gone_ranks.push_back(r);
        break;
      case State::kFailedToo:
        break;
    }
  }
  std::vector<std::string> parts = errors;
  if (!gone.empty()) {
    parts.push_back(absl::StrCat(absl::StrJoin(gone, ", "), " stopped answering: no heartbeat for ",
                                 Seconds(Clock::now() - start),
                                 "; the process died or is stopped"));
  }
  if (!hung.empty()) {
    parts.push_back(absl::StrCat(absl::StrJoin(hung, ", "), " is alive but did not take part for ",
                                 Seconds(options_.timeout + (Clock::now() - start)),
                                 ": it hangs, or is slower than --dist_timeout_s"));
  }
  if (parts.empty()) {
    parts.push_back("every other rank saw the failure too; no rank is at fault by name");
  }
  try {
    store_->set(Key("diagnosed", rank_), Bytes("1"));
  } catch (const std::exception&) {
  }
  if (rank_ == 0) LingerForOthers(gone_ranks);
  StopHeartbeat();
  return absl::StrJoin(parts, "; ") + c10d;
}

void Communicator::LingerForOthers(const std::vector<int>& gone) {
  const std::set<int> skip(gone.begin(), gone.end());
  const auto deadline = Clock::now() + 4 * options_.heartbeat + options_.timeout;
  try {
    for (int r = 1; r < world_size_; ++r) {
      if (skip.count(r)) continue;
      // Done with the store: it diagnosed a failure, reported its own, or finished.
      auto done = [&] {
        return store_->check({Key("diagnosed", r)}) || store_->check({Key("error", r)}) ||
               store_->check({Key("left", r)});
      };
      while (!done() && Clock::now() < deadline) {
        std::this_thread::sleep_for(options_.heartbeat / 10);
      }
    }
  } catch (const std::exception&) {
  }
}

void Communicator::ReportFailure(const std::string& message) {
  if (failed_) return;
  failed_ = true;
  try {
    store_->set(Key("error", rank_), Bytes(absl::StrCat(message, " (at step ", step_.load(), ")")));
  } catch (const std::exception&) {
  }
  if (impl_) impl_->group.reset();
  if (rank_ == 0) LingerForOthers({});
  StopHeartbeat();
}

absl::Status Communicator::Finish() {
  auto one = torch::ones({1}, torch::kFloat);
  if (auto st = AllReduceSum({one}, "the end of training"); !st.ok()) return st;
  StopHeartbeat();
  impl_->group.reset();
  try {
    if (rank_ != 0) {
      store_->set(Key("left", rank_), Bytes("1"));
    } else {
      // The store lives in this process: keep it until the others no longer need it.
      LingerForOthers({});
    }
  } catch (const std::exception&) {
  }
  return absl::OkStatus();
}

absl::Status Communicator::Bucketed(
    const std::vector<torch::Tensor>& tensors, const std::string& what,
    const std::function<c10::intrusive_ptr<::c10d::Work>(std::vector<torch::Tensor>&)>& op) {
  torch::NoGradGuard no_grad;
  // Consecutive tensors of one dtype, up to bucket_bytes together, travel as one flat buffer.
  struct Bucket {
    std::vector<torch::Tensor> members;
    torch::Tensor flat;
  };
  std::vector<Bucket> buckets;
  int64_t bytes = 0;
  for (const auto& t : tensors) {
    const int64_t b = t.numel() * static_cast<int64_t>(t.element_size());
    if (buckets.empty() || buckets.back().members.front().scalar_type() != t.scalar_type() ||
        bytes + b > options_.bucket_bytes) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().members.push_back(t);
    bytes += b;
  }
  auto st = Run(what, [&](WorkList& works) {
    for (auto& bucket : buckets) {
      std::vector<torch::Tensor> flat;
      for (const auto& t : bucket.members) flat.push_back(t.detach().reshape({-1}));
      bucket.flat = ToCommDevice(torch::cat(flat));
      std::vector<torch::Tensor> io = {bucket.flat};
      works.push_back(op(io));  // All buckets in flight at once.
    }
  });
  if (!st.ok()) return st;
  for (auto& bucket : buckets) {
    int64_t offset = 0;
    for (auto& t : bucket.members) {
      const int64_t n = t.numel();
      t.copy_(bucket.flat.narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  }
  return absl::OkStatus();
}

absl::Status Communicator::AllReduceSum(const std::vector<torch::Tensor>& tensors,
                                        const std::string& what) {
  return Bucketed(tensors, what,
                  [this](std::vector<torch::Tensor>& io) { return impl_->group->allreduce(io); });
}

absl::Status Communicator::Broadcast(const std::vector<torch::Tensor>& tensors,
                                     const std::string& what) {
  return Bucketed(tensors, what, [this](std::vector<torch::Tensor>& io) {
    ::c10d::BroadcastOptions o;
    o.rootRank = 0;
    return impl_->group->broadcast(io, o);
  });
}

absl::StatusOr<torch::Tensor> Communicator::AllGather(const torch::Tensor& t,
                                                      const std::string& what) {
  const auto in = ToCommDevice(t);
  std::vector<std::vector<torch::Tensor>> out(1);
  for (int r = 0; r < world_size_; ++r) out[0].push_back(torch::empty_like(in));
  auto st = Run(what, [&](WorkList& works) {
    std::vector<torch::Tensor> input = {in};
    works.push_back(impl_->group->allgather(out, input));
  });
  if (!st.ok()) return st;
  return torch::cat(out[0]).to(t.device(), t.scalar_type());
}

absl::StatusOr<torch::Tensor> Communicator::GatherToRoot(const torch::Tensor& t,
                                                         const std::string& what) {
  const auto in = ToCommDevice(t);
  std::vector<std::vector<torch::Tensor>> out;
  if (rank_ == 0) {
    out.resize(1);
    for (int r = 0; r < world_size_; ++r) out[0].push_back(torch::empty_like(in));
  }
  auto st = Run(what, [&](WorkList& works) {
    std::vector<torch::Tensor> input = {in};
    ::c10d::GatherOptions o;
    o.rootRank = 0;
    works.push_back(impl_->group->gather(out, input, o));
  });
  if (!st.ok()) return st;
  if (rank_ != 0) return torch::Tensor();
  return torch::cat(out[0]).to(t.device(), t.scalar_type());
}

absl::StatusOr<std::string> Communicator::ShareFromRoot(const std::string& key,
                                                        const std::string& value) {
  const std::string k = "trm/shared/" + key;
  try {
    if (rank_ == 0) {
      store_->set(k, Bytes(value));
      return value;
    }
    store_->wait({k}, options_.timeout);
    return String(store_->get(k));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", rank_, ": cannot read '", key,
                                               "' from the store at ", where_, ": ", e.what()));
  }
}

}  // namespace trm::train
