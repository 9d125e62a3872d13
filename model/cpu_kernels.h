// Which kernels a network's ACT step runs on the CPU: the choice (--cpu_kernels), whether this
// CPU can run it, and what it resolves to here. Plain C++: the engine, trm-bench and the tests
// parse and report it; model/step_runner.h acts on it.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/fast_kernels.h"

namespace trm::model {

enum class CpuKernels {
  // The fastest kernels of model/fast_step.h this CPU has: AVX-512 (bfloat16 models dot
  // bfloat16 pairs where it also has AVX512_BF16), else AVX2 + FMA, else kReference.
  kAuto,
  kAvx512,  // The AVX-512 kernels; the CPU must have them (CheckCpuKernels).
  kAvx2,    // The AVX2 + FMA kernels, also on a CPU with AVX-512 (tests, benchmarks).
  // libtorch ops, one per official op: the reference the fast paths are tested against, and the
  // path with autograd, off the CPU, and on CPUs with neither instruction set.
  kReference,
  // kAvx512 without bfloat16 dot instructions, as on AVX-512 CPUs without AVX512_BF16 (tests).
  kAvx512NoBf16Dot,
};

// "auto" | "avx512" | "avx2" | "reference" | "avx512_no_bf16_dot" (and the earlier names "fast"
// for auto, "fast_no_bf16_dot"); an error names the value and the choices.
absl::StatusOr<CpuKernels> ParseCpuKernels(const std::string& name);
// OK when this CPU can run `kernels`; else an error naming what it lacks (a forced instruction
// set the CPU does not have is refused up front, never an illegal instruction later).
absl::Status CheckCpuKernels(CpuKernels kernels);
// What a CPU model's steps run on with `kernels` here, for logs and ListModels: "avx512_bf16"
// (AVX-512 with bfloat16 dot products, bfloat16 models only), "avx512", "avx2" or "reference".
std::string CpuKernelsInUse(CpuKernels kernels, bool bf16_model);
// The instruction set `kernels` runs on this CPU; nullopt for the reference (kReference, or the
// CPU lacks what `kernels` asks for: CheckCpuKernels says so up front).
std::optional<fast::Isa> FastIsaFor(CpuKernels kernels);

}  // namespace trm::model
