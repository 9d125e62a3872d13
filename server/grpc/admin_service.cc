#include "server/grpc/admin_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/checkpoint_dirs.h"
#include "server/grpc_status.h"
#include "server/log.h"
#include "server/request_codec.h"

namespace trm::server {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of the longer string is visited; a length mismatch also makes the result false.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  // Keep the compiler from turning the loop into an early-exit comparison.
  volatile unsigned char result = diff;
  return result == 0;
}

grpc::Status CheckAdminToken(const grpc::CallbackServerContext& context, std::string_view token) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "admin: missing `authorization: Bearer <token>` metadata");
  }
  std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (!value.starts_with(kBearer)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "admin: authorization metadata is not `Bearer <token>`");
  }
  if (!ConstantTimeEquals(value.substr(kBearer.size()), token)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "admin: wrong token");
  }
  return grpc::Status::OK;
}

AdminService::AdminService(engine::Engine* engine, Metrics* metrics, std::string token,
                           std::vector<std::string> checkpoint_roots)
    : engine_(engine),
      metrics_(metrics),
      token_(std::move(token)),
      checkpoint_roots_(std::move(checkpoint_roots)) {}

grpc::ServerUnaryReactor* AdminService::ReloadModel(grpc::CallbackServerContext* context,
                                                    const trm::v1::ReloadModelRequest* request,
                                                    trm::v1::ReloadModelResponse* response) {
  const absl::Time start = absl::Now();
  auto* reactor = context->DefaultReactor();
  grpc::Status status = CheckAdminToken(*context, token_);
  if (status.ok() && (request->name().empty() || request->checkpoint_path().empty())) {
    status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "reload: name and checkpoint_path are both required");
  }
  absl::StatusOr<std::string> path;  // The checkpoint_path resolved inside the roots.
  if (status.ok()) {
    path = ConfineToRoots(request->checkpoint_path(), checkpoint_roots_);
    if (!path.ok()) {
      status = ToGrpcStatus(path.status());
      Log(LogLevel::kWarning,
          absl::StrCat("reload of ", request->name(), " refused: ", path.status().message()));
    }
  }
  if (status.ok()) {
    // Loading a checkpoint blocks this callback thread for its duration (milliseconds to
    // seconds); reloads are rare operator actions, so no separate executor is worth it.
    absl::Status reloaded = engine_->ReloadModel(request->name(), *path);
    status = ToGrpcStatus(reloaded);
    if (reloaded.ok()) {
      if (absl::StatusOr<engine::ModelInfo> info = engine_->GetModel(request->name()); info.ok()) {
        ToProtoModelInfo(*info, response->mutable_model());
        metrics_->SetModelInfo(*info);
        Log(LogLevel::kInfo, absl::StrCat("reloaded model ", info->name, " version ", info->version,
                                          " from ", request->checkpoint_path()));
      }
    } else {
      Log(LogLevel::kWarning,
          absl::StrCat("reload of ", request->name(), " from ", request->checkpoint_path(),
                       " failed: ", reloaded.ToString()));
    }
  }
  // Only a loaded model's name becomes a label (callers without the token reach this line too).
  const std::string model_label = engine_->GetModel(request->name()).ok() ? request->name() : "";
  metrics_->RecordRequest("ReloadModel", model_label, GrpcCodeName(status.error_code()),
                          absl::ToDoubleSeconds(absl::Now() - start));
  reactor->Finish(status);
  return reactor;
}

}  // namespace trm::server
