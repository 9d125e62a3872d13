// Calls the gRPC transport accepted and saw fail, from gRPC's channelz, summed over the
// process's servers.
//
// The services count the calls they see (trm_requests_total). A client that opens an HTTP/2
// stream and resets it at once (the "rapid reset" of CVE-2023-44487) costs the server work in
// gRPC's transport but never reaches a service, so nothing counted it (issue 22). gRPC's channelz
// counts every call the transport starts and how it ended; polled at scrape time, the difference
// between these counts and trm_requests_total is the traffic that never got to a service.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

namespace trm::server {

// {calls started, calls failed}; {0, 0} when channelz is off (GRPC_ARG_ENABLE_CHANNELZ).
std::pair<int64_t, int64_t> GrpcServerCallCounts();

// The same from the JSON of grpc_channelz_get_servers; public for tests.
std::pair<int64_t, int64_t> SumServerCallCounts(std::string_view channelz_servers_json);

// Calls started and not yet ended (neither succeeded nor failed), summed over the process's
// servers; 0 when channelz is off. For the drain: with none, nothing is left to wait for.
int64_t GrpcServerCallsInFlight();
int64_t SumServerCallsInFlight(std::string_view channelz_servers_json);

}  // namespace trm::server
