#include "server/guards/grpc_call_counts.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/grpc/health_service.h"

namespace trm::server {
namespace {

// A gRPC server on loopback with the health service only, and a stub to it.
struct HealthServer {
  HealthServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&health);
    server = builder.BuildAndStart();
  }
  ~HealthServer() {
    if (server) server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  std::unique_ptr<grpc::health::v1::Health::Stub> Stub() const {
    return grpc::health::v1::Health::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  HealthService health;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

TEST(GrpcCallCountsTest, SumsEveryServersStartedAndFailedCalls) {
  EXPECT_EQ(SumServerCallCounts(R"({"server":[
      {"ref":{"serverId":"1"},"data":{"callsStarted":"7","callsSucceeded":"5","callsFailed":"2"}},
      {"ref":{"serverId":"4"},"data":{"callsStarted":"3"}}],"end":true})"),
            std::make_pair(int64_t{10}, int64_t{2}));
  EXPECT_EQ(SumServerCallCounts(R"({"end":true})"), std::make_pair(int64_t{0}, int64_t{0}));
  EXPECT_EQ(SumServerCallCounts("not json"), std::make_pair(int64_t{0}, int64_t{0}));
}

// Against gRPC's own channelz: calls to a real server, one of them ending in an error.
TEST(GrpcCallCountsTest, CountsARealServersCalls) {
  const auto before = GrpcServerCallCounts();
  HealthServer h;
  ASSERT_NE(h.server, nullptr);
  auto stub = h.Stub();
  for (const char* service : {"", "", "no-such-service"}) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    stub->Check(&c, req, &resp);
  }
  // The client has its status before the server's channelz has counted the call (the count
  // moves when the server side of the call completes): wait for the counts, bounded only
  // against a hang.
  auto after = GrpcServerCallCounts();
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while ((after.first - before.first < 3 || after.second - before.second < 1) &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
    after = GrpcServerCallCounts();
  }
  EXPECT_EQ(after.first - before.first, 3);
  EXPECT_EQ(after.second - before.second, 1);  // NOT_FOUND.
}

TEST(GrpcCallCountsTest, CallsInFlightAreStartedLessEnded) {
  EXPECT_EQ(SumServerCallsInFlight(R"({"server":[
      {"data":{"callsStarted":"7","callsSucceeded":"4","callsFailed":"2"}},
      {"data":{"callsStarted":"3","callsSucceeded":"3"}}],"end":true})"),
            1);
  EXPECT_EQ(SumServerCallsInFlight("not json"), 0);
}

// A Watch stream (which never ends by itself) is in flight until the client cancels it.
TEST(GrpcCallCountsTest, AnOpenStreamIsInFlightUntilItEnds) {
  HealthServer h;
  ASSERT_NE(h.server, nullptr);
  const int64_t before = GrpcServerCallsInFlight();
  auto stub = h.Stub();
  grpc::ClientContext c;
  grpc::health::v1::HealthCheckRequest req;
  auto watch = stub->Watch(&c, req);
  grpc::health::v1::HealthCheckResponse first;
  ASSERT_TRUE(watch->Read(&first));  // The server has the call.
  EXPECT_EQ(GrpcServerCallsInFlight() - before, 1);
  c.TryCancel();
  watch->Finish();
  // The server side of the call ends after the client's: wait for it, bounded against a hang.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (GrpcServerCallsInFlight() != before && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(GrpcServerCallsInFlight(), before);
}

}  // namespace
}  // namespace trm::server
