// The one status type of the solve path: gRPC's, which both transports speak (the HTTP API maps
// its codes to HTTP statuses). The engine and the codec answer absl::Status; these convert.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace trm::server {

// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);
// "OK", "INVALID_ARGUMENT", ...: the gRPC name of a code, for metrics labels.
std::string GrpcCodeName(grpc::StatusCode code);

}  // namespace trm::server
