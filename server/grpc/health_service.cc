#include "server/grpc/health_service.h"

#include <optional>

namespace trm::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream: at most one write in flight; a status that arrives meanwhile replaces any
// older unsent one (watchers want the latest, not the history).
class HealthService::Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* service, std::string name) : service_(service), name_(std::move(name)) {}

  // Called with the service's mu_ held, so never after RemoveWatcher.
  void Push(Status status) {
    MutexLock lock(&mu_);
    if (finishing_) return;
    if (writing_) {
      pending_ = status;
      return;
    }
    WriteLocked(status);
  }

  void OnWriteDone(bool ok) override {
    MutexLock lock(&mu_);
    writing_ = false;
    if (!ok || cancelled_) return FinishLocked(grpc::Status::CANCELLED);
    if (pending_) {
      const Status next = *pending_;
      pending_.reset();
      WriteLocked(next);
    }
  }

  void OnCancel() override {
    MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    service_->RemoveWatcher(name_, this);
    delete this;
  }

 private:
  void WriteLocked(Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    response_.set_status(status);
    writing_ = true;
    StartWrite(&response_);
  }
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return;
    finishing_ = true;
    Finish(status);
  }

  HealthService* const service_;
  const std::string name_;
  Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);  // The write in flight.
  std::optional<Status> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
};

HealthService::HealthService() {
  MutexLock lock(&mu_);
  serving_[""] = false;
}

HealthService::Status HealthService::StatusOf(const std::string& service) const {
  auto it = serving_.find(service);
  if (it == serving_.end()) return HealthCheckResponse::SERVICE_UNKNOWN;
  return it->second ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

void HealthService::Publish(const std::string& service) {
  auto it = watchers_.find(service);
  if (it == watchers_.end()) return;
  const Status status = StatusOf(service);
  for (Watcher* w : it->second) w->Push(status);
}

void HealthService::SetServingStatus(const std::string& service, bool serving) {
  MutexLock lock(&mu_);
  if (shut_down_) return;
  auto [it, added] = serving_.emplace(service, serving);
  if (!added && it->second == serving) return;
  it->second = serving;
  Publish(service);
}

void HealthService::Shutdown() {
  MutexLock lock(&mu_);
  shut_down_ = true;
  for (auto& [service, serving] : serving_) {
    if (!serving) continue;
    serving = false;
    Publish(service);
  }
}

void HealthService::AddWatcher(const std::string& service, Watcher* watcher) {
  MutexLock lock(&mu_);
  watchers_[service].insert(watcher);
  watcher->Push(StatusOf(service));
}

void HealthService::RemoveWatcher(const std::string& service, Watcher* watcher) {
  MutexLock lock(&mu_);
  auto it = watchers_.find(service);
  if (it == watchers_.end()) return;
  it->second.erase(watcher);
  if (it->second.empty()) watchers_.erase(it);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  auto* reactor = context->DefaultReactor();
  Status status;
  {
    MutexLock lock(&mu_);
    status = StatusOf(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "health: unknown service"));
  } else {
    response->set_status(status);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/, const HealthCheckRequest* request) {
  auto* watcher = new Watcher(this, request->service());
  AddWatcher(request->service(), watcher);
  return watcher;
}

}  // namespace trm::server
