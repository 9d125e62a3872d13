// The client's gRPC channel: any gRPC target (host:port, dns:///host:port, ipv4:a:p,b:p, ...),
// with a service config selecting the load-balancing policy (round_robin by default, so a DNS
// name with several addresses spreads calls), and optional TLS / mutual TLS.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace trm::client {

struct ChannelOptions {
  std::string target = "localhost:50051";
  std::string lb_policy = "round_robin";  // Or pick_first.
  bool tls = false;                       // Implied by any of the files below.
  std::string ca_file;                    // PEM roots to verify the server; empty: system roots.
  std::string cert_file;                  // Client certificate for mutual TLS.
  std::string key_file;
  std::string server_name;  // Overrides the name checked against the server's certificate.
  int max_message_bytes = 16 << 20;
};

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options);

}  // namespace trm::client
