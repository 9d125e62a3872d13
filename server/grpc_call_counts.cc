#include "server/grpc_call_counts.h"

#include <grpc/grpc.h>
#include <grpc/support/alloc.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/numbers.h"

namespace trm::server {
namespace {

// channelz writes int64 fields as JSON strings (proto3's JSON mapping) and leaves zeros out.
int64_t Int64Field(const nlohmann::json& data, const char* name) {
  auto it = data.find(name);
  if (it == data.end()) return 0;
  int64_t v = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  return it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

std::pair<int64_t, int64_t> SumServerCallCounts(std::string_view channelz_servers_json) {
  const nlohmann::json j = nlohmann::json::parse(channelz_servers_json, nullptr,
                                                 /*allow_exceptions=*/false);
  std::pair<int64_t, int64_t> sum{0, 0};
  if (!j.is_object() || !j.contains("server") || !j["server"].is_array()) return sum;
  for (const auto& server : j["server"]) {
    if (!server.is_object() || !server.contains("data")) continue;
    sum.first += Int64Field(server["data"], "callsStarted");
    sum.second += Int64Field(server["data"], "callsFailed");
  }
  return sum;
}

std::pair<int64_t, int64_t> GrpcServerCallCounts() {
  char* json = grpc_channelz_get_servers(0);
  if (json == nullptr) return {0, 0};
  auto sum = SumServerCallCounts(json);
  gpr_free(json);
  return sum;
}

}  // namespace trm::server
