// How many connections one client address may have served at once on an HTTP listener (each
// holds a worker thread while it is served). A flood of slow or silent connections from one
// address then holds at most its share of the workers, and well-behaved clients from other
// addresses keep the rest, whatever the flood does between the deadline sweeps. Past its share a
// connection is answered 429 and closed as soon as a worker picks it up. Off (0) by default, as
// nginx's limit_conn and HAProxy's conn_cur are: behind a proxy every client shares the proxy's
// address (the edge proxy profile caps per address itself, deploy/haproxy/haproxy.cfg).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "base/sync.h"

namespace trm::server {

class HttpAddressShare {
 public:
  explicit HttpAddressShare(int limit) : limit_(limit) {}
  HttpAddressShare(const HttpAddressShare&) = delete;
  HttpAddressShare& operator=(const HttpAddressShare&) = delete;

  // Takes a place for a connection from `address`; false (counted) when it has `limit` already.
  bool TryAcquire(const std::string& address);
  void Release(const std::string& address);  // After a successful TryAcquire.
  int limit() const { return limit_; }       // 0: no limit.
  int64_t refused();

 private:
  const int limit_;
  Mutex mu_;
  std::map<std::string, int> held_ ABSL_GUARDED_BY(mu_);
  int64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace trm::server
