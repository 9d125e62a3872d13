// Prometheus /metrics on its own HttpServer (--metrics_listen, 9464): the collectables' families
// in the text exposition format; other paths 404.
//
// Not prometheus::Exposer: Debian's civetweb (under Exposer) starts its worker threads with a
// fixed small stack, and in a process that links libtorch (with OpenBLAS, glog) the static TLS
// alone is larger, so pthread_create fails with EINVAL and Exposer throws "null context when
// constructing CivetServer". HttpServer's workers are std::threads with the default stack.
#pragma once

#include <prometheus/collectable.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/http/http_server.h"

namespace trm::server {

// Binds `listen` (HOST:PORT; port 0: any free port) and serves, holding at most
// `max_connections` open (`max_connections_per_address` from one client address, 0: any), with
// request heads up to `max_head_bytes`. Errors name
// --metrics_listen.
absl::StatusOr<std::unique_ptr<HttpServer>> StartMetricsHttp(
    const std::string& listen, std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
    int max_connections = 64, size_t max_head_bytes = 64 << 10,
    int max_connections_per_address = 0);

}  // namespace trm::server
