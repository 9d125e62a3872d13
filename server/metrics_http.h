// The /metrics HTTP endpoint: a small blocking HTTP/1.0 server on its own thread that serves
// prometheus-cpp collectables in the text exposition format.
//
// Why not prometheus::Exposer: Debian's civetweb (under Exposer) starts its worker threads with
// a fixed small stack, and in a process that links libtorch (with OpenBLAS, glog) the static TLS
// alone is larger, so pthread_create fails with EINVAL and Exposer throws "null context when
// constructing CivetServer". Scrapes are a few per second at most, so one thread suffices.
#pragma once

#include <prometheus/collectable.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace trm::server {

class MetricsHttpServer {
 public:
  // `listen` is HOST:PORT (port 0: any free port). GET /metrics answers the collectables'
  // families; other paths 404. Errors name the address.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen,
      std::vector<std::shared_ptr<prometheus::Collectable>> collectables);
  ~MetricsHttpServer();  // Stops accepting and joins the thread.
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer(int fd, int port, std::vector<std::shared_ptr<prometheus::Collectable>> c);
  void Serve();
  void Answer(int client);

  int fd_;
  int port_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace trm::server
