#include "server/grpc/health_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace trm::server {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Health::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                                grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  grpc::Status Check(const std::string& service, HealthCheckResponse* resp) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckRequest req;
    req.set_service(service);
    return stub_->Check(&c, req, resp);
  }

  HealthService health_;  // Outlives server_.
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(HealthServiceTest, StartsNotServingAndChecksEachEntry) {
  HealthCheckResponse resp;
  ASSERT_TRUE(Check("", &resp).ok());
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  grpc::Status unknown = Check("sudoku-secret", &resp);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message().find("sudoku-secret"), std::string::npos);

  health_.SetServingStatus("sudoku", false);
  ASSERT_TRUE(Check("sudoku", &resp).ok());
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  health_.SetServingStatus("sudoku", true);
  health_.SetServingStatus("", true);
  ASSERT_TRUE(Check("sudoku", &resp).ok());
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  ASSERT_TRUE(Check("", &resp).ok());
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);

  // Shutdown: everything NOT_SERVING, and it stays so.
  health_.Shutdown();
  health_.SetServingStatus("", true);
  for (const char* service : {"", "sudoku"}) {
    ASSERT_TRUE(Check(service, &resp).ok());
    EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING) << service;
  }
}

TEST_F(HealthServiceTest, WatchSendsTheStatusThenEachChange) {
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  HealthCheckRequest req;
  req.set_service("maze");
  auto reader = stub_->Watch(&c, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  health_.SetServingStatus("maze", false);
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  health_.SetServingStatus("maze", true);
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  health_.SetServingStatus("", true);  // Another entry: nothing for this stream.
  health_.Shutdown();
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  c.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(HealthServiceTest, ManyWatchersAndFlappingThenServerShutdown) {
  // Streams left open are ended by the server's shutdown; rapid changes coalesce.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<HealthCheckResponse>>> readers;
  for (int i = 0; i < 8; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    HealthCheckRequest req;
    readers.push_back(stub_->Watch(contexts.back().get(), req));
    HealthCheckResponse resp;
    ASSERT_TRUE(readers.back()->Read(&resp));
    EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  }
  for (int i = 0; i < 1000; ++i) health_.SetServingStatus("", i % 2 == 0);
  // Every stream gets to the final status (i = 999: NOT_SERVING), whatever it skipped.
  for (auto& reader : readers) {
    HealthCheckResponse resp;
    do {
      ASSERT_TRUE(reader->Read(&resp));
    } while (resp.status() != HealthCheckResponse::NOT_SERVING);
  }
  // Shutdown cancels the streams (OnCancel, then OnDone unregisters each watcher); the
  // connections close with the server object.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  server_.reset();
  for (auto& reader : readers) {
    HealthCheckResponse resp;
    while (reader->Read(&resp)) {
    }  // A stream's status comes after its last message.
    EXPECT_FALSE(reader->Finish().ok());
  }
}

}  // namespace
}  // namespace trm::server
