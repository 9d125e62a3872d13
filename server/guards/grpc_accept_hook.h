// A hook on every connection the gRPC server accepts, before gRPC reads from it: gRPC 1.51 has
// no connection limit of its own (GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS came in 1.58), and
// its only per-connection callback is the socket mutator, which it calls with each accepted
// descriptor (tcp_server_posix.cc, GRPC_FD_SERVER_CONNECTION_USAGE).
//
// The mutator's vtable is not in gRPC's installed headers; its 1.51 layout is declared here,
// and Make() checks it at run time by calling gRPC's own dispatcher on a descriptor of ours, so
// a gRPC whose layout differs gets no hook (an error, which the server logs) rather than a crash.
// The hook must never fail a descriptor: gRPC 1.51 stops accepting on the whole port when a
// mutator does. To turn a connection away, shut it down (shutdown(2)): gRPC reads end-of-file and
// closes it at once.
//
// Unnecessary from gRPC 1.58 on: GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS limits connections
// itself (the only user of this hook is the connection guard).
#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/server_builder.h"

namespace trm::server {

class GrpcAcceptHook {
 public:
  // `on_accept` runs on gRPC's accepting thread for each new connection's descriptor; it must
  // be quick and must not close the descriptor. It lives as long as gRPC holds the hook.
  using OnAccept = std::function<void(int fd)>;
  static absl::StatusOr<std::unique_ptr<GrpcAcceptHook>> Make(OnAccept on_accept);
  ~GrpcAcceptHook();
  GrpcAcceptHook(const GrpcAcceptHook&) = delete;
  GrpcAcceptHook& operator=(const GrpcAcceptHook&) = delete;

  // Installs the hook on the server `builder` will build (once).
  void AddTo(grpc::ServerBuilder* builder);

  struct Mutator;  // Implementation detail.

 private:
  explicit GrpcAcceptHook(Mutator* mutator) : mutator_(mutator) {}
  Mutator* mutator_;  // Reference-counted by gRPC; ours is released in the destructor.
};

}  // namespace trm::server
