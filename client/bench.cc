#include "client/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trm::client {

Percentiles Summarize(std::vector<double> samples) {
  Percentiles p;
  if (samples.empty()) return p;
  std::sort(samples.begin(), samples.end());
  p.count = static_cast<int64_t>(samples.size());
  double sum = 0;
  for (double s : samples) sum += s;
  p.mean = sum / samples.size();
  auto rank = [&](double q) {
    const size_t k = static_cast<size_t>(std::ceil(q * samples.size()));
    return samples[std::clamp<size_t>(k, 1, samples.size()) - 1];
  };
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  p.max = samples.back();
  return p;
}

BenchResult RunBench(const std::shared_ptr<trm::v1::Solver::Stub>& stub,
                     const BenchOptions& options) {
  using Clock = std::chrono::steady_clock;
  const int64_t limit = options.requests > 0     ? options.requests
                        : options.duration_s > 0 ? INT64_MAX
                                                 : 100;
  const auto start = Clock::now();
  const auto stop_at = options.duration_s > 0
                           ? start + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(options.duration_s))
                           : Clock::time_point::max();
  std::atomic<int64_t> next{0};
  std::mutex mu;
  BenchResult result;
  auto worker = [&] {
    BenchResult local;
    for (;;) {
      const int64_t i = next.fetch_add(1);
      if (i >= limit || Clock::now() >= stop_at) break;
      const auto& request = options.puzzles[i % options.puzzles.size()];
      grpc::ClientContext context;
      context.set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000)));
      trm::v1::SolveResponse response;
      const auto t0 = Clock::now();
      grpc::Status status = stub->Solve(&context, request, &response);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (!status.ok()) {
        const std::string code =
            absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
        ++local.errors[code];
        if (local.first_error.empty())
          local.first_error = absl::StrCat(code, ": ", status.error_message());
        continue;
      }
      ++local.ok;
      local.latency_ms.push_back(ms);
      local.engine_ms.push_back(response.timing().total_ms());
      local.compute_ms.push_back(response.timing().compute_ms());
      local.overhead_ms.push_back(ms - response.timing().total_ms());
      local.steps.push_back(response.steps());
      if (response.verification() == trm::v1::VERIFICATION_VERIFIED) ++local.verified;
    }
    std::lock_guard lock(mu);
    result.ok += local.ok;
    result.verified += local.verified;
    for (const auto& [code, n] : local.errors) result.errors[code] += n;
    if (result.first_error.empty()) result.first_error = local.first_error;
    for (auto v : {&BenchResult::latency_ms, &BenchResult::engine_ms, &BenchResult::compute_ms,
                   &BenchResult::overhead_ms, &BenchResult::steps}) {
      (result.*v).insert((result.*v).end(), (local.*v).begin(), (local.*v).end());
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, options.concurrency); ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  result.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

namespace {
std::string Line(const char* name, const Percentiles& p) {
  return absl::StrFormat("%-22s p50 %9.3f  p90 %9.3f  p99 %9.3f  max %9.3f  mean %9.3f\n", name,
                         p.p50, p.p90, p.p99, p.max, p.mean);
}
nlohmann::json Json(const Percentiles& p) {
  return {{"count", p.count}, {"mean", p.mean}, {"p50", p.p50},
          {"p90", p.p90},     {"p99", p.p99},   {"max", p.max}};
}
}  // namespace

std::string FormatBench(const BenchResult& r, const BenchOptions& o) {
  int64_t errors = 0;
  for (const auto& [code, n] : r.errors) errors += n;
  std::string out =
      absl::StrFormat("requests %d ok, %d errors in %.2f s with concurrency %d: %.1f requests/s\n",
                      r.ok, errors, r.wall_s, o.concurrency, r.wall_s > 0 ? r.ok / r.wall_s : 0.0);
  absl::StrAppend(&out, Line("latency ms", Summarize(r.latency_ms)));
  absl::StrAppend(&out, Line("engine total ms", Summarize(r.engine_ms)));
  absl::StrAppend(&out, Line("engine compute ms", Summarize(r.compute_ms)));
  absl::StrAppend(&out, Line("overhead ms", Summarize(r.overhead_ms)));
  absl::StrAppend(&out, Line("ACT steps", Summarize(r.steps)));
  absl::StrAppend(&out, absl::StrFormat("verified %d of %d\n", r.verified, r.ok));
  for (const auto& [code, n] : r.errors) absl::StrAppend(&out, "errors ", code, ": ", n, "\n");
  if (!r.first_error.empty()) absl::StrAppend(&out, "first error: ", r.first_error, "\n");
  return out;
}

nlohmann::json BenchJson(const BenchResult& r, const BenchOptions& o) {
  return {{"concurrency", o.concurrency},
          {"wall_s", r.wall_s},
          {"ok", r.ok},
          {"throughput_rps", r.wall_s > 0 ? r.ok / r.wall_s : 0.0},
          {"latency_ms", Json(Summarize(r.latency_ms))},
          {"engine_total_ms", Json(Summarize(r.engine_ms))},
          {"engine_compute_ms", Json(Summarize(r.compute_ms))},
          {"overhead_ms", Json(Summarize(r.overhead_ms))},
          {"act_steps", Json(Summarize(r.steps))},
          {"verified", r.verified},
          {"errors", r.errors},
          {"first_error", r.first_error}};
}

}  // namespace trm::client
