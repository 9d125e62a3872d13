#include "server/http/http_metrics.h"

#include <httplib.h>
#include <prometheus/text_serializer.h>

namespace trm::server {

absl::StatusOr<std::unique_ptr<HttpServer>> StartMetricsHttp(
    const std::string& listen, std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
    int max_connections, size_t max_head_bytes, int max_connections_per_address) {
  HttpServerOptions options;
  options.flag = "--metrics_listen";
  options.max_threads = 16;           // Scrapes are a few a second at most.
  options.max_body_bytes = 64 << 10;  // GET requests have none.
  options.max_connections = max_connections;
  options.max_head_bytes = max_head_bytes;
  options.max_connections_per_address = max_connections_per_address;
  auto http = HttpServer::Bind(listen, options);
  if (!http.ok()) return http.status();
  auto serve = [collectables](const httplib::Request&, httplib::Response& res) {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& c : collectables) {
      auto part = c->Collect();
      families.insert(families.end(), std::make_move_iterator(part.begin()),
                      std::make_move_iterator(part.end()));
    }
    res.set_content(prometheus::TextSerializer().Serialize(families),
                    "text/plain; version=0.0.4; charset=utf-8");
  };
  (*http)->routes().Get("/metrics", serve);
  (*http)->routes().Get("/metrics/", serve);
  (*http)->routes().set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (res.status != 404) return httplib::Server::HandlerResponse::Unhandled;
        res.set_content("not found: try /metrics\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      }));
  (*http)->Start();
  return http;
}

}  // namespace trm::server
