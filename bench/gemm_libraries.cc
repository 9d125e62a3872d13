// trm-gemm-bench: the fast CPU step's matrix products through its own micro-kernels (AVX-512 and
// AVX2 + FMA, model/fast_kernels.h) beside libxsmm 1.17 and oneDNN 2.6 (Debian 12's), per shape of
// the paper's models, single-threaded float32, for issue 31's library verdict (bench/RESULTS.md).
// The step's orchestration (threads, fusions) is the same whichever library multiplies, so one
// thread on one product is the comparison that decides which GEMM core to keep.
//
// Each product is C[rows, n] = X[rows, k] W^T with W [n, k] row-major, the layout of a Linear:
// ours packs W into its panels once, libxsmm gets W transposed once (column-major NN kernels, JIT
// dispatched per 64 x 64 output tile and per edge tile), oneDNN's matmul picks its own weight
// layout (reordered once). Figures: GFLOP/s (2 rows * n * k per product), the median of 5 timed
// runs of at least 0.2 s each.
#include <libxsmm.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <dnnl.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "model/fast_kernels.h"

namespace {

using trm::model::fast::AlignedArray;
using trm::model::fast::CpuHas;
using trm::model::fast::DetectCpuFeatures;
using trm::model::fast::Isa;
using trm::model::fast::KernelsFor;
using trm::model::fast::PackedWeight;

struct Shape {
  const char* name;
  int rows, n, k;
};

double MedianGflops(const Shape& s, const std::function<void()>& run) {
  run();  // Warm (JIT, caches).
  std::vector<double> rates;
  for (int round = 0; round < 5; ++round) {
    int reps = 0;
    const auto start = std::chrono::steady_clock::now();
    double seconds = 0;
    do {
      run();
      ++reps;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (seconds < 0.2);
    rates.push_back(2.0 * s.rows * s.n * s.k * reps / seconds / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[2];
}

// The largest relative difference from `want`, to check each library computes the same product.
double MaxRelError(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0, scale = 1e-6;
  for (float w : want) scale = std::max(scale, static_cast<double>(std::abs(w)));
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]) / scale);
  }
  return worst;
}

}  // namespace

int main() {
  omp_set_num_threads(1);
  libxsmm_init();
  const auto cpu = DetectCpuFeatures();
  // The paper's sudoku (hidden 512, 81 cells + 16 puzzle-embedding positions) at batch 1 and 8,
  // and the 30x30 maze (900 + 16): the step's four Linears and attention's two products per head.
  const std::vector<Shape> shapes = {
      {"sudoku b1 qkv", 97, 1536, 512},     {"sudoku b1 o", 97, 512, 512},
      {"sudoku b1 gate_up", 97, 3072, 512}, {"sudoku b1 down", 97, 512, 1536},
      {"sudoku b8 qkv", 776, 1536, 512},    {"sudoku b8 gate_up", 776, 3072, 512},
      {"sudoku b8 down", 776, 512, 1536},   {"sudoku q.k per head", 97, 97, 64},
      {"maze qkv", 916, 1536, 512},         {"maze gate_up", 916, 3072, 512},
      {"maze down", 916, 512, 1536},        {"maze q.k per head", 916, 916, 64},
      {"maze p.v per head", 916, 64, 916},
  };
  std::printf("| product | rows x n x k | ours avx512 | ours avx2 | libxsmm | oneDNN | best |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0, 1);
  for (const Shape& s : shapes) {
    std::vector<float> x(static_cast<size_t>(s.rows) * s.k), w(static_cast<size_t>(s.n) * s.k);
    for (float& v : x) v = normal(rng);
    for (float& v : w) v = normal(rng);
    // Reference: plain loops in double.
    std::vector<float> want(static_cast<size_t>(s.rows) * s.n);
    for (int i = 0; i < s.rows; ++i) {
      for (int j = 0; j < s.n; ++j) {
        double sum = 0;
        for (int kk = 0; kk < s.k; ++kk) sum += double{x[i * s.k + kk]} * w[j * s.k + kk];
        want[i * s.n + j] = static_cast<float>(sum);
      }
    }
    std::vector<float> c(want.size());
    std::string cells[4];
    double best = 0;
    std::string best_name;
    const auto record = [&](int column, const char* name, const std::function<void()>& run) {
      std::fill(c.begin(), c.end(), 0.0f);
      run();
      const double err = MaxRelError(c, want);
      if (err > 1e-4) {
        cells[column] = "wrong (" + std::to_string(err) + ")";
        return;
      }
      const double g = MedianGflops(s, run);
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", g);
      cells[column] = text;
      if (g > best) best = g, best_name = name;
    };
    // Ours, both instruction sets this CPU has.
    const PackedWeight packed(w.data(), s.k, s.n, s.k, PackedWeight::Format::kFloat32);
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
      const int column = isa == Isa::kAvx512 ? 0 : 1;
      if (!CpuHas(cpu, isa)) {
        cells[column] = "n/a";
        continue;
      }
      const auto gemm = KernelsFor(isa).gemm;
      record(column, isa == Isa::kAvx512 ? "ours avx512" : "ours avx2",
             [&] { gemm(x.data(), s.k, s.rows, packed.f32(), c.data(), s.n); });
    }
    // libxsmm: column-major C^T [n x rows] = W^T... as NN: A = W^T stored column-major [n x k]
    // (that is W transposed into [k, n] row-major), B = X^T [k x rows] (X row-major), C^T = C.
    std::vector<float> wt(w.size());
    for (int j = 0; j < s.n; ++j) {
      for (int kk = 0; kk < s.k; ++kk) wt[kk * s.n + j] = w[j * s.k + kk];
    }
    // Tiles of 64 x 64 outputs, one JIT kernel per tile shape (edge tiles have their own).
    const libxsmm_blasint lda = s.n, ldb = s.k, ldc = s.n;
    const float alpha = 1, beta = 0;
    const auto dispatch = [&](int m, int n) {
      return libxsmm_smmdispatch(m, n, s.k, &lda, &ldb, &ldc, &alpha, &beta, nullptr, nullptr);
    };
    const int tm = 64, tn = 64;
    const libxsmm_smmfunction kernels[2][2] = {
        {dispatch(tm, tn), s.rows % tn ? dispatch(tm, s.rows % tn) : nullptr},
        {s.n % tm ? dispatch(s.n % tm, tn) : nullptr,
         s.n % tm && s.rows % tn ? dispatch(s.n % tm, s.rows % tn) : nullptr}};
    const bool dispatched = kernels[0][0] && (s.rows % tn == 0 || kernels[0][1]) &&
                            (s.n % tm == 0 || kernels[1][0]) &&
                            (s.n % tm == 0 || s.rows % tn == 0 || kernels[1][1]);
    if (!dispatched) cells[2] = "no kernel";
    if (dispatched)
      record(2, "libxsmm", [&] {
        for (int j0 = 0; j0 < s.rows; j0 += tn) {
          for (int i0 = 0; i0 < s.n; i0 += tm) {
            kernels[s.n - i0 < tm][s.rows - j0 < tn](wt.data() + i0,
                                                     x.data() + static_cast<size_t>(j0) * s.k,
                                                     c.data() + i0 + static_cast<size_t>(j0) * s.n);
          }
        }
      });
    // oneDNN matmul: src [rows, k], weights [k, n] (W^T) in the layout it picks, dst [rows, n].
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc src_md({s.rows, s.k}, dt::f32, tag::ab);
    const dnnl::memory::desc w_any({s.k, s.n}, dt::f32, tag::any);
    const dnnl::memory::desc w_plain({s.k, s.n}, dt::f32, tag::ba);  // W [n, k] row-major.
    const dnnl::memory::desc dst_md({s.rows, s.n}, dt::f32, tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_any, dst_md), engine);
    dnnl::memory w_user(w_plain, engine, w.data());
    dnnl::memory w_mem(pd.weights_desc(), engine);
    dnnl::reorder(w_user, w_mem).execute(stream, w_user, w_mem);
    dnnl::memory src_mem(src_md, engine, x.data()), dst_mem(dst_md, engine, c.data());
    const dnnl::matmul matmul(pd);
    record(3, "oneDNN", [&] {
      matmul.execute(stream,
                     {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, dst_mem}});
      stream.wait();
    });
    std::printf("| %s | %d x %d x %d | %s | %s | %s | %s | %s |\n", s.name, s.rows, s.n, s.k,
                cells[0].c_str(), cells[1].c_str(), cells[2].c_str(), cells[3].c_str(),
                best_name.c_str());
    std::fflush(stdout);
  }
  libxsmm_finalize();
  return 0;
}
