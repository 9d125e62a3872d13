// grpc.health.v1.Health for trm-server: "" is the whole server, and each model has an entry of
// its own name. Every entry, "" included, starts NOT_SERVING.
//
// gRPC's built-in service (grpc::EnableDefaultHealthCheckService) answers SERVING for "" from the
// moment the port opens, and the server can only mark it NOT_SERVING after BuildAndStart returns:
// a probe in between saw a server that had loaded no model as ready (RestartTest caught it). This
// one is registered like any other service and is NOT_SERVING until told otherwise.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "base/sync.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace trm::server {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;
  // Must outlive the grpc::Server it is registered with (every Watch stream has ended by then).
  ~HealthService() override = default;

  // Adds the entry when it is new; Watch streams on it get the new status.
  void SetServingStatus(const std::string& service, bool serving);
  // Every entry NOT_SERVING, for good: later SetServingStatus calls are ignored (draining).
  void Shutdown();

  // OK with the status, or NOT_FOUND for a service without an entry (the name is not echoed).
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  // The status now, then each change, until the caller cancels or the server shuts down;
  // SERVICE_UNKNOWN while the service has no entry.
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

  // Implementation details follow.
  class Watcher;

 private:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  Status StatusOf(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(const std::string& service) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddWatcher(const std::string& service, Watcher* watcher);
  void RemoveWatcher(const std::string& service, Watcher* watcher);

  mutable Mutex mu_;
  std::map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::set<Watcher*>> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trm::server
