#include "server/guards/grpc_accept_hook.h"

#include <grpc/support/sync.h>
#include <unistd.h>

#include <atomic>

#include "absl/status/status.h"
#include "grpcpp/impl/server_builder_option.h"

// gRPC 1.51's socket mutator types (src/core/lib/iomgr/socket_mutator.h), which its installed
// headers only name: their C++ names are part of the exported functions' mangled names.
typedef enum {
  GRPC_FD_CLIENT_CONNECTION_USAGE,
  GRPC_FD_SERVER_LISTENER_USAGE,
  GRPC_FD_SERVER_CONNECTION_USAGE,
} grpc_fd_usage;

typedef struct {
  int fd;
  grpc_fd_usage usage;
} grpc_mutate_socket_info;

struct grpc_socket_mutator_vtable {
  bool (*mutate_fd)(int fd, grpc_socket_mutator* mutator);
  int (*compare)(grpc_socket_mutator* a, grpc_socket_mutator* b);
  void (*destroy)(grpc_socket_mutator* mutator);
  bool (*mutate_fd_2)(const grpc_mutate_socket_info* info, grpc_socket_mutator* mutator);
};

struct grpc_socket_mutator {
  const grpc_socket_mutator_vtable* vtable;
  gpr_refcount refcount;
};

void grpc_socket_mutator_init(grpc_socket_mutator* mutator,
                              const grpc_socket_mutator_vtable* vtable);
bool grpc_socket_mutator_mutate_fd(grpc_socket_mutator* mutator, int fd, grpc_fd_usage usage);
grpc_socket_mutator* grpc_socket_mutator_ref(grpc_socket_mutator* mutator);
void grpc_socket_mutator_unref(grpc_socket_mutator* mutator);

namespace trm::server {

struct GrpcAcceptHook::Mutator {
  grpc_socket_mutator base;  // First: gRPC passes &base, which is this object.
  OnAccept on_accept;
  std::atomic<int> self_test_fd{-1};  // Make()'s check: that fd must not reach on_accept.
  std::atomic<bool> self_test_seen{false};
};

namespace {

GrpcAcceptHook::Mutator* Of(grpc_socket_mutator* m) {
  return reinterpret_cast<GrpcAcceptHook::Mutator*>(m);
}

bool MutateFd(int, grpc_socket_mutator*) { return true; }  // Other uses: nothing to change.

bool MutateFd2(const grpc_mutate_socket_info* info, grpc_socket_mutator* m) {
  if (info->usage != GRPC_FD_SERVER_CONNECTION_USAGE) return true;
  GrpcAcceptHook::Mutator* self = Of(m);
  if (info->fd == self->self_test_fd.load()) {
    self->self_test_seen = true;
    return true;
  }
  if (self->on_accept) self->on_accept(info->fd);
  return true;  // Never false: gRPC would stop accepting on the port.
}

int Compare(grpc_socket_mutator* a, grpc_socket_mutator* b) { return a < b ? -1 : a > b; }

void Destroy(grpc_socket_mutator* m) { delete Of(m); }

constexpr grpc_socket_mutator_vtable kVtable = {MutateFd, Compare, Destroy, MutateFd2};

class MutatorOption final : public grpc::ServerBuilderOption {
 public:
  explicit MutatorOption(grpc_socket_mutator* m) : m_(m) {}
  // The arguments own what they are given (one reference): they get one of their own.
  void UpdateArguments(grpc::ChannelArguments* args) override {
    args->SetSocketMutator(grpc_socket_mutator_ref(m_));
  }
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*) override {}

 private:
  grpc_socket_mutator* m_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcAcceptHook>> GrpcAcceptHook::Make(OnAccept on_accept) {
  auto* m = new Mutator;
  grpc_socket_mutator_init(&m->base, &kVtable);
  m->on_accept = std::move(on_accept);
  // Through gRPC's own dispatcher with a descriptor of ours: proves the layout above is the one
  // this gRPC uses before gRPC calls it for real.
  const int fd = dup(STDERR_FILENO);
  m->self_test_fd = fd;
  const bool ok = grpc_socket_mutator_mutate_fd(&m->base, fd, GRPC_FD_SERVER_CONNECTION_USAGE);
  if (fd >= 0) close(fd);
  m->self_test_fd = -1;
  if (fd < 0 || !ok || !m->self_test_seen.load()) {
    grpc_socket_mutator_unref(&m->base);
    return absl::UnimplementedError(
        "this gRPC's socket mutator is not the 1.51 layout: no hook on accepted connections");
  }
  return std::unique_ptr<GrpcAcceptHook>(new GrpcAcceptHook(m));
}

GrpcAcceptHook::~GrpcAcceptHook() { grpc_socket_mutator_unref(&mutator_->base); }

void GrpcAcceptHook::AddTo(grpc::ServerBuilder* builder) {
  builder->SetOption(std::make_unique<MutatorOption>(&mutator_->base));
}

}  // namespace trm::server
