#include "client/channel.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace trm::client {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& o) {
  if (o.lb_policy != "round_robin" && o.lb_policy != "pick_first") {
    return absl::InvalidArgumentError(
        absl::StrCat("--lb_policy: \"", o.lb_policy, "\" is not round_robin or pick_first"));
  }
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(
      absl::StrCat(R"({"loadBalancingConfig":[{")", o.lb_policy, R"(":{}}]})"));
  args.SetMaxReceiveMessageSize(o.max_message_bytes);
  args.SetMaxSendMessageSize(o.max_message_bytes);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (o.tls || !o.ca_file.empty() || !o.cert_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!o.ca_file.empty()) {
      auto ca = ReadFile(o.ca_file, "--tls_ca");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (o.cert_file.empty() != o.key_file.empty()) {
      return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
    }
    if (!o.cert_file.empty()) {
      auto cert = ReadFile(o.cert_file, "--tls_cert");
      if (!cert.ok()) return cert.status();
      auto key = ReadFile(o.key_file, "--tls_key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    if (!o.server_name.empty()) args.SetSslTargetNameOverride(o.server_name);
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(o.target, creds, args);
}

}  // namespace trm::client
