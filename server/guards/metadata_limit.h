// The request-metadata limit, applied by the services rather than by gRPC.
//
// gRPC 1.51 enforces GRPC_ARG_MAX_METADATA_SIZE itself, but it answers a header block over the
// limit by resetting the stream and, when the block spans several HTTP/2 frames or socket reads
// (a 1 MB header, 1,000 entries), by closing the whole connection, so the caller's other calls on
// it fail UNAVAILABLE "Socket closed" (issue 22). gRPC's own limit is therefore set high
// (kTransportMetadataLimit, which bounds the memory a header block can take), and the services
// refuse a call over the real limit (--max_metadata_bytes) with RESOURCE_EXHAUSTED while the
// connection carries on. Above kTransportMetadataLimit gRPC's behaviour is what remains.
//
// Unnecessary once gRPC answers an over-limit header block with an error on that call alone and
// keeps the connection (later releases split the limit into a soft and a hard one,
// GRPC_ARG_ABSOLUTE_MAX_METADATA_SIZE); measure before removing, as issue 22 did on 1.51.
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"

namespace trm::server {

inline constexpr int kTransportMetadataLimit = 2 << 20;

// The request's metadata as HTTP/2 and gRPC count it: name + value + 32 bytes per entry.
size_t MetadataBytes(const grpc::ServerContextBase& context);
// RESOURCE_EXHAUSTED "request metadata: N bytes, the limit is M" when over `limit`.
absl::Status CheckMetadataSize(const grpc::ServerContextBase& context, size_t limit);

}  // namespace trm::server
