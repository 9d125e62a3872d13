#include "server/guards/grpc_call_counts.h"

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

struct Counts {
  int64_t started = 0, succeeded = 0, failed = 0;
};

// Summed over the servers of grpc_channelz_get_servers' JSON.
Counts SumCounts(std::string_view channelz_servers_json) {
  const nlohmann::json j = nlohmann::json::parse(channelz_servers_json, nullptr,
                                                 /*allow_exceptions=*/false);
  Counts sum;
  if (!j.is_object() || !j.contains("server") || !j["server"].is_array()) return sum;
  for (const auto& server : j["server"]) {
    if (!server.is_object() || !server.contains("data")) continue;
    sum.started += Int64Field(server["data"], "callsStarted");
    sum.succeeded += Int64Field(server["data"], "callsSucceeded");
    sum.failed += Int64Field(server["data"], "callsFailed");
  }
  return sum;
}

Counts ProcessCounts() {
  char* json = grpc_channelz_get_servers(0);
  if (json == nullptr) return {};
  const Counts sum = SumCounts(json);
  gpr_free(json);
  return sum;
}

}  // namespace

std::pair<int64_t, int64_t> SumServerCallCounts(std::string_view channelz_servers_json) {
  const Counts c = SumCounts(channelz_servers_json);
  return {c.started, c.failed};
}

std::pair<int64_t, int64_t> GrpcServerCallCounts() {
  const Counts c = ProcessCounts();
  return {c.started, c.failed};
}

int64_t SumServerCallsInFlight(std::string_view channelz_servers_json) {
  const Counts c = SumCounts(channelz_servers_json);
  return c.started - c.succeeded - c.failed;
}

int64_t GrpcServerCallsInFlight() {
  const Counts c = ProcessCounts();
  return c.started - c.succeeded - c.failed;
}

}  // namespace trm::server
