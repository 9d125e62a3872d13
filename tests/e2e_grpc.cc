#include "tests/e2e_grpc.h"

#include <chrono>

namespace trm::e2e {

std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

std::shared_ptr<grpc::Channel> NewConnection(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void SetDeadline(grpc::ClientContext* c, absl::Duration d) {
  if (d == absl::InfiniteDuration()) return;  // No deadline.
  c->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(d));
}

grpc::Status Solve(const std::shared_ptr<grpc::Channel>& ch, const trm::v1::SolveRequest& req,
                   trm::v1::SolveResponse* resp, absl::Duration timeout) {
  grpc::ClientContext c;
  SetDeadline(&c, timeout);
  return trm::v1::Solver::NewStub(ch)->Solve(&c, req, resp);
}

}  // namespace trm::e2e
