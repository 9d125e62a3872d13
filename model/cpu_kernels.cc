#include "model/cpu_kernels.h"

#include "absl/strings/str_cat.h"

namespace trm::model {

absl::StatusOr<CpuKernels> ParseCpuKernels(const std::string& name) {
  if (name == "auto" || name == "fast") return CpuKernels::kAuto;
  if (name == "avx512") return CpuKernels::kAvx512;
  if (name == "avx2") return CpuKernels::kAvx2;
  if (name == "reference") return CpuKernels::kReference;
  if (name == "avx512_no_bf16_dot" || name == "fast_no_bf16_dot") {
    return CpuKernels::kAvx512NoBf16Dot;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "cpu kernels \"", name, "\": expected auto, avx512, avx2, reference or avx512_no_bf16_dot"));
}

absl::Status CheckCpuKernels(CpuKernels kernels) {
  const fast::CpuFeatures cpu = fast::DetectCpuFeatures();
  const bool avx512 = kernels == CpuKernels::kAvx512 || kernels == CpuKernels::kAvx512NoBf16Dot;
  if (avx512 && !cpu.avx512) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cpu kernels avx512: this CPU has no AVX-512 (F, BW, VL, DQ)",
        cpu.avx2 ? "; it has AVX2 + FMA: use avx2 or auto" : "; use reference or auto"));
  }
  if (kernels == CpuKernels::kAvx2 && !cpu.avx2) {
    return absl::FailedPreconditionError(
        "cpu kernels avx2: this CPU has no AVX2 + FMA; use reference or auto");
  }
  return absl::OkStatus();
}

std::string CpuKernelsInUse(CpuKernels kernels, bool bf16_model) {
  const std::optional<fast::Isa> isa = FastIsaFor(kernels);
  if (!isa) return "reference";
  if (*isa == fast::Isa::kAvx2) return "avx2";
  const bool pairs = bf16_model && fast::DetectCpuFeatures().avx512_bf16 &&
                     kernels != CpuKernels::kAvx512NoBf16Dot;
  return pairs ? "avx512_bf16" : "avx512";
}

std::optional<fast::Isa> FastIsaFor(CpuKernels kernels) {
  const fast::CpuFeatures cpu = fast::DetectCpuFeatures();
  const auto if_has = [&cpu](fast::Isa isa) -> std::optional<fast::Isa> {
    if (fast::CpuHas(cpu, isa)) return isa;
    return std::nullopt;
  };
  switch (kernels) {
    case CpuKernels::kAuto:
      return cpu.avx512 ? if_has(fast::Isa::kAvx512) : if_has(fast::Isa::kAvx2);
    case CpuKernels::kAvx512:
    case CpuKernels::kAvx512NoBf16Dot:
      return if_has(fast::Isa::kAvx512);
    case CpuKernels::kAvx2:
      return if_has(fast::Isa::kAvx2);
    case CpuKernels::kReference:
      break;
  }
  return std::nullopt;
}

}  // namespace trm::model
