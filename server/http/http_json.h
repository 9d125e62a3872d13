// JSON on the HTTP API: trm.v1 messages in protobuf's canonical JSON mapping (lowerCamelCase
// names, enums by name, unknown fields rejected), errors as {"code": "NOT_FOUND", "message": ...}
// with the HTTP status grpc-gateway gives that gRPC code, and grpc-gateway's Grpc-Timeout header.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"

namespace trm::server {

// 400 INVALID_ARGUMENT, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, 504
// DEADLINE_EXCEEDED, 499 CANCELLED, ... (grpc-gateway's HTTPStatusFromCode).
int HttpStatusFor(absl::StatusCode code);

// {"code":"INVALID_ARGUMENT","message":"..."} (OK gives code "OK").
std::string ErrorJson(const absl::Status& status);

// Parses a request body into `message`: INVALID_ARGUMENT naming what is wrong and where
// (`request body: (options.max_steps): invalid value "x" for type TYPE_INT32`) for text that is
// not UTF-8 or not JSON, an unknown field, a wrong type or a value out of range.
absl::Status ParseJson(std::string_view body, google::protobuf::Message* message);

// The message in canonical JSON, one line.
std::string ToJson(const google::protobuf::Message& message);

// "Grpc-Timeout: 10S" (a positive integer of up to 8 digits and a unit H, M, S, m, u or n).
absl::StatusOr<absl::Duration> ParseGrpcTimeout(std::string_view value);

}  // namespace trm::server
