// The CPU's arithmetic peak as these cores actually run it: independent AVX-512 FMAs (float32)
// or vdpbf16ps dot products (bfloat16) on `threads` threads for about `seconds`. trm-bench
// divides its achieved GFLOP/s by it, so a figure reads against this machine's clock and
// vector units rather than a data sheet's.
#pragma once

namespace trm::bench {

// GFLOP/s (multiply-add = 2); 0 when the CPU lacks the instructions (AVX-512, or AVX512_BF16
// for bfloat16).
double MeasurePeakGflops(bool bfloat16, int threads, double seconds = 0.2);

}  // namespace trm::bench
