// `trm-client bench`: closed-loop load. `concurrency` workers each send one Solve, wait for it,
// and send the next, until `requests` calls are done or `duration_s` has passed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::client {

struct Percentiles {
  int64_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
// Nearest-rank percentiles (the value at rank ceil(p * n)); all zero for no samples.
Percentiles Summarize(std::vector<double> samples);

struct BenchOptions {
  int concurrency = 4;
  int64_t requests = 0;   // Stop after this many calls (0: use duration_s).
  double duration_s = 0;  // Stop after this long (0 and requests 0: 100 requests).
  double timeout_s = 60;  // Per-call deadline.
  std::vector<trm::v1::SolveRequest> puzzles;  // Sent round-robin; must not be empty.
};

struct BenchResult {
  double wall_s = 0;
  int64_t ok = 0;
  std::map<std::string, int64_t> errors;  // gRPC code name -> count.
  std::string first_error;                // One example message.
  std::vector<double> latency_ms;         // Successful calls, client-side.
  std::vector<double> engine_ms;          // The server's timing.total_ms (queue + compute).
  std::vector<double> compute_ms;         // The server's timing.compute_ms.
  std::vector<double> overhead_ms;        // latency - engine total: gRPC, codec, network.
  std::vector<double> steps;
  int64_t verified = 0;
};

BenchResult RunBench(const std::shared_ptr<trm::v1::Solver::Stub>& stub,
                     const BenchOptions& options);

std::string FormatBench(const BenchResult& result, const BenchOptions& options);
nlohmann::json BenchJson(const BenchResult& result, const BenchOptions& options);

}  // namespace trm::client
