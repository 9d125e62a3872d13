#include "bench/cpu_peak.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "model/fast_kernels.h"

// GCC 12's _mm512_reduce_add_ps starts from an undefined register by design, which
// -Wuninitialized reports once inlined.
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace trm::bench {
namespace {

// Twelve independent accumulators: enough to cover the FMA latency on every current core.
constexpr int kChains = 12;

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx512bf16")
// kChains independent chains of float32 FMAs or bfloat16 pair dot products.
template <bool kBfloat16>
float Chains(int64_t iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(1e-7f);
  const __m512bh ones = (__m512bh)_mm512_set1_epi16(0x3f80);  // bfloat16 1.0 pairs
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) {
      if constexpr (kBfloat16) {
        acc[i] = _mm512_dpbf16_ps(acc[i], ones, ones);
      } else {
        acc[i] = _mm512_fmadd_ps(acc[i], a, b);
      }
    }
  }
  float sum = 0;
  for (int i = 0; i < kChains; ++i) sum += _mm512_reduce_add_ps(acc[i]);
  return sum;
}
#pragma GCC pop_options

// Seconds for `iterations` on every thread at once (the slowest thread's finish).
double TimeChains(bool bfloat16, int threads, int64_t iterations) {
  std::atomic<float> sink{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> team;
  for (int t = 0; t < threads; ++t) {
    team.emplace_back([&] {
      const float r = bfloat16 ? Chains<true>(iterations) : Chains<false>(iterations);
      sink.store(r, std::memory_order_relaxed);  // keeps the chains from being optimised away
    });
  }
  for (auto& t : team) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

double MeasurePeakGflops(bool bfloat16, int threads, double seconds) {
  const model::fast::CpuFeatures cpu = model::fast::DetectCpuFeatures();
  if (!cpu.avx512 || (bfloat16 && !cpu.avx512_bf16)) return 0;
  threads = std::max(1, threads);
  // One iteration: kChains instructions of 16 float32 FMAs (32 flops) or 32 bfloat16 pair dots
  // (64 flops) per thread. The first few milliseconds of AVX-512 work run slower here (a 4 ms run
  // gave 0.8 of a 40 ms one), so a calibration run warms the units up, then the best of three
  // runs of a third of `seconds` each is the peak.
  const double flops_per_iteration = kChains * (bfloat16 ? 64.0 : 32.0);
  int64_t iterations = 2000000;
  const double probe = TimeChains(bfloat16, threads, iterations);
  iterations = std::max<int64_t>(
      iterations, static_cast<int64_t>(iterations * seconds / 3 / std::max(probe, 1e-6)));
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    const double s = TimeChains(bfloat16, threads, iterations);
    best = std::max(best, flops_per_iteration * iterations * threads / s / 1e9);
  }
  return best;
}

}  // namespace trm::bench
