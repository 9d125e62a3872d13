// trm.v1.Admin: model reloads, guarded by a bearer token (`authorization: Bearer <token>`).
// The server registers this service only when it has a token, so without one Admin calls are
// UNIMPLEMENTED rather than open. A reload's checkpoint_path must lie inside the checkpoint roots
// (after symlinks and `..` are resolved); others get PERMISSION_DENIED and nothing is read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "grpcpp/grpcpp.h"
#include "server/metrics.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::server {

// Compares in time that depends only on the lengths, so a caller cannot find the token byte by
// byte from response times.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// OK, UNAUTHENTICATED (no or malformed authorization metadata) or PERMISSION_DENIED (wrong
// token), from the call's metadata.
grpc::Status CheckAdminToken(const grpc::CallbackServerContext& context, std::string_view token);

class AdminService final : public trm::v1::Admin::CallbackService {
 public:
  // `engine` and `metrics` must outlive the service; `token` must not be empty;
  // `checkpoint_roots` come from CanonicalRoots (empty: every reload is refused).
  AdminService(engine::Engine* engine, Metrics* metrics, std::string token,
               std::vector<std::string> checkpoint_roots);

  grpc::ServerUnaryReactor* ReloadModel(grpc::CallbackServerContext* context,
                                        const trm::v1::ReloadModelRequest* request,
                                        trm::v1::ReloadModelResponse* response) override;

 private:
  engine::Engine* engine_;
  Metrics* metrics_;
  std::string token_;
  std::vector<std::string> checkpoint_roots_;
};

}  // namespace trm::server
