// Answers requests whose message does not parse with INVALID_ARGUMENT, and counts them.
//
// gRPC 1.51's callback handlers answer a request that fails to deserialize (invalid UTF-8 in a
// string field, a truncated field, wire type 7, groups nested past protobuf's limit of 100) with
// UNIMPLEMENTED and an empty message, before any service code runs
// (grpcpp/impl/codegen/server_callback_handlers.h), and count it nowhere. This server interceptor
// sees both halves of that: the received message is missing at POST_RECV_MESSAGE, and the status
// about to be sent is UNIMPLEMENTED with no message at PRE_SEND_STATUS. Only that pair is
// rewritten (to INVALID_ARGUMENT naming the method), so an unknown method's UNIMPLEMENTED and a
// stream's normal end are untouched. The same pair on a call the client has already cancelled is
// a stream reset before its message arrived (the HTTP/2 "rapid reset" of CVE-2023-44487, which
// gRPC 1.51 still hands to the service layer): counted, not rewritten, as nobody reads it. Unary
// and server-streaming methods only: the others read their messages in the service, which sees
// the failure itself.
//
// Unnecessary once gRPC's callback handlers answer a message that fails to parse themselves with
// a code other than an empty UNIMPLEMENTED; 1.51 (Debian 12's) does not (HostileRequestsTest.
// MalformedMessagesAreInvalidArgumentCountedAndNotLoggedEachTime checks what clients get).
#pragma once

#include <memory>

#include "grpcpp/support/server_interceptor.h"
#include "server/metrics.h"

namespace trm::server {

// `metrics` must outlive the server: each malformed request is counted in
// trm_malformed_requests_total and each reset one in trm_requests_reset_total; those to trm.v1
// services also in trm_requests_total (model "", code INVALID_ARGUMENT or CANCELLED) beside the
// requests the services count themselves.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMalformedRequestInterceptorFactory(Metrics* metrics);

}  // namespace trm::server
