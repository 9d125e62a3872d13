// gRPC helpers shared by the end-to-end and reliability tests: a loopback channel, deadlines and
// a unary Solve. Kept apart from e2e_util.h, which has no gRPC dependency.
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::e2e {

// A channel from gRPC's global subchannel pool: a second Channel() to the same address with the
// same arguments shares the first one's connection (one transport, one HTTP/2 stream-id space).
std::shared_ptr<grpc::Channel> Channel(const std::string& address);
// A channel with a subchannel pool of its own (GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL), so a
// connection of its own: for tests that need callers on separate connections, and for callers
// that must not inherit another channel's broken connection or reconnect backoff.
std::shared_ptr<grpc::Channel> NewConnection(const std::string& address);
// absl::InfiniteDuration(): none (for a call whose time is the machine's; ctest's TIMEOUT tells a
// hang).
void SetDeadline(grpc::ClientContext* c, absl::Duration d);
grpc::Status Solve(const std::shared_ptr<grpc::Channel>& ch, const trm::v1::SolveRequest& req,
                   trm::v1::SolveResponse* resp, absl::Duration timeout = absl::Seconds(30));

}  // namespace trm::e2e
