// Limits on the gRPC port's connections that gRPC 1.51 has no setting for (issue 34).
//
// - A connection budget. Every connection is a descriptor, and gRPC 1.51 stops accepting on a
//   port for good after one accept4() fails with EMFILE (CVE-2023-4785; server/guards/watchdog.h):
//   a burst of connections past the open-file limit used to leave the watchdog no choice but to
//   restart the process, so anyone able to open 1,100 connections could restart it at will. Past
//   `max_connections` the oldest idle connection (no call open) is closed to make room for a new
//   one; with none to close, a new one is let in up to an eighth over the budget while the sweep
//   makes room, and past that shut down as gRPC accepts it (it closes at once). So the process
//   stays below the limit and keeps accepting. Clients reconnect as they do after any closed
//   connection.
// - Stream resets per connection. Streams opened and reset at once (the rapid reset of
//   CVE-2023-44487) cost the server work for each, and gRPC 1.51 neither limits them nor answers
//   them with GOAWAY; 60,000 on one connection kept the server busy long enough for its own
//   health checks to time out. A connection that opens streams without a request message (reset
//   before it, or never sent) faster than `max_resets_per_second`, over a second, is closed.
//
// The guard sees each accepted descriptor through GrpcAcceptHook and reads the connections' call
// counts from gRPC's channelz (the peer address ties the two together); it acts by shutdown(2)
// on the descriptor, after which gRPC reads end-of-file and ends the connection's calls as it
// does when a client goes away. Resets are found by polling (every `interval`), so a flooding
// connection gets at most about one interval's worth in before it is closed.
//
// Unnecessary with gRPC >= 1.60: 1.53.2 re-arms the listener after EMFILE (CVE-2023-4785), 1.58
// has GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS, and 1.60 added rapid-reset mitigations
// (grpc/grpc #34637, #34639, #34640). Debian 12 ships 1.51.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/sync.h"
#include "grpcpp/server_builder.h"
#include "server/guards/grpc_accept_hook.h"
#include "server/metrics.h"

namespace trm::server {

struct GrpcConnectionGuardOptions {
  int max_connections = 0;        // 0: no budget.
  int max_resets_per_second = 0;  // Per connection, over a second; 0: no limit.
  absl::Duration interval = absl::Milliseconds(100);
};

class GrpcConnectionGuard {
 public:
  // Fails when the accept hook cannot be made (a gRPC other than 1.51's layout).
  static absl::StatusOr<std::unique_ptr<GrpcConnectionGuard>> Make(
      GrpcConnectionGuardOptions options);
  ~GrpcConnectionGuard();  // Stop().
  GrpcConnectionGuard(const GrpcConnectionGuard&) = delete;
  GrpcConnectionGuard& operator=(const GrpcConnectionGuard&) = delete;

  // Before the server is built: the hook on its accepted connections.
  void AddTo(grpc::ServerBuilder* builder) { hook_->AddTo(builder); }
  // Once the server listens on `port`: starts looking after its connections.
  void Start(int port);
  void Stop();  // Idempotent; connections accepted later are only counted.

  GrpcConnectionStats stats();

  // Implementation details follow.
 private:
  explicit GrpcConnectionGuard(GrpcConnectionGuardOptions options) : options_(options) {}
  struct Connection {
    unsigned long inode = 0;  // Tells the descriptor's socket from a later one on the same fd.
    std::string peer;         // "ip:port", as ChannelzSocket::peer.
    absl::Time accepted;
    // streams_without_message, sampled over the last second.
    std::deque<std::pair<absl::Time, int64_t>> unfed;
  };
  void OnAccept(int fd);  // gRPC's accepting thread.
  // Ends a tracked connection that still holds its socket: with `abort`, an RST that drops what
  // the client sent and gRPC has not read yet (a flood's frames); else an orderly shutdown.
  bool CloseLocked(int fd, bool abort) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets closed connections whose descriptor gRPC has let go of.
  void PruneClosingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many shut-down connections may still hold a descriptor before no more are closed to make
  // room (refusing costs no descriptor past the one gRPC accepted): an eighth of the budget, at
  // least 4.
  size_t ClosingSlack() const;
  void Run();
  void Sweep();

  const GrpcConnectionGuardOptions options_;
  std::unique_ptr<GrpcAcceptHook> hook_;
  Mutex mu_;
  CondVar wake_;
  std::map<int, Connection> connections_ ABSL_GUARDED_BY(mu_);  // By descriptor.
  bool make_room_ ABSL_GUARDED_BY(mu_) = false;                 // A connection was refused.
  bool room_pending_ ABSL_GUARDED_BY(mu_) = false;  // The last sweep could not make all of it.
  std::deque<int> idle_
      ABSL_GUARDED_BY(mu_);  // Idle at the last sweep near the budget, oldest first.
  // Shut down here (to make room, or for resets), until gRPC closes them: descriptor -> inode.
  std::map<int, unsigned long> closing_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int port_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> listeners_ ABSL_GUARDED_BY(mu_);  // gRPC's listening sockets on port_.
  int64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t closed_idle_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t closed_resets_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t server_started_ = 0;  // The sweep's: calls started server-wide at the last sweep.
  std::thread thread_;
};

// One connection of a gRPC server as channelz reports it; public for tests.
struct ChannelzSocket {
  int64_t id = 0;    // Grows with each new socket: the smallest is the oldest.
  std::string peer;  // As PeerOfDescriptor (server/guards/process_sockets.h) writes it.
  int local_port = 0;
  int64_t streams_started = 0, streams_succeeded = 0, streams_failed = 0;
  int64_t messages_received = 0;
  // gRPC 1.51 counts a stream the client resets in neither streams_succeeded nor streams_failed
  // (only in streams_started), so "open" includes those until the connection closes.
  int64_t open_streams() const { return streams_started - streams_succeeded - streams_failed; }
  // Every call of trm-server's methods opens with one request message; a stream reset before it
  // (or a call whose message never comes) leaves one here.
  int64_t streams_without_message() const { return streams_started - messages_received; }
};
// From the JSON of grpc_channelz_get_socket; nullopt when it is not a TCP socket's.
std::optional<ChannelzSocket> ParseChannelzSocket(std::string_view json);

}  // namespace trm::server
