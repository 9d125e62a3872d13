// Parity with the official implementation: every NAME.config.json in $TRM_PARITY_DIR (default
// $TRM_SHARED_DIR/parity, base/test_data.h; skipped where there is none) names an official
// checkpoint NAME.pt and the official model's outputs NAME.expected.pt for every ACT step. We load
// the checkpoint exactly as a user would (LoadCheckpoint on the .pt, its config found beside it),
// run the same steps and compare within the tolerances of shared/parity/README.md. Nothing is
// special-cased by name. Every vector runs on each CPU implementation of the step (model/trm_net.h
// CpuKernels): the libtorch reference, the AVX-512 kernels (for bfloat16 vectors also without
// bfloat16 dot instructions) and the AVX2 ones; a fast variant this CPU cannot run is reported and
// skipped.
//
// Environment: TRM_PARITY_DIR (vectors), TRM_PARITY_DEVICE (cpu | cuda),
// TRM_PARITY_DTYPE (override the forward dtype, e.g. bfloat16 on CUDA; tolerances follow it).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/test_data.h"
#include "model/checkpoint.h"
#include "model/step_runner.h"
#include "nlohmann/json.hpp"

namespace trm::model {
namespace {
namespace fs = std::filesystem;

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

struct Errors {
  double rel_l2 = 0, max_abs = 0, argmax_agree = 1;
};

Errors Compare(const torch::Tensor& got_in, const torch::Tensor& want_in) {
  auto got = got_in.to(torch::kCPU, torch::kFloat64);
  auto want = want_in.to(torch::kCPU, torch::kFloat64);
  Errors e;
  e.rel_l2 = ((got - want).norm() / want.norm().clamp_min(1e-12)).item<double>();
  e.max_abs = (got - want).abs().max().item<double>();
  if (got.dim() == 3)
    e.argmax_agree = got.argmax(-1).eq(want.argmax(-1)).to(torch::kFloat64).mean().item<double>();
  return e;
}

std::vector<fs::path> ParityConfigs(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 12 && name.ends_with(".config.json")) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Runs `steps` ACT steps from the reset carry and returns logits/q per step.
std::vector<StepOutputs> RunSteps(TrmNet& net, StepRunner& runner, const torch::Tensor& inputs,
                                  const torch::Tensor& ids, int steps) {
  torch::InferenceMode guard;
  std::vector<StepOutputs> out;
  auto carry = net->InitialCarry(inputs.size(0));
  for (int k = 0; k < steps; ++k) {
    auto [next, o] = runner.ActStep(carry, inputs, ids);
    carry = next;
    out.push_back(o);
  }
  return out;
}

struct Variant {
  const char* name;
  CpuKernels kernels;
  bool fast;  // Must run on the fast kernels where the CPU has them.
};
constexpr Variant kVariants[] = {{"reference", CpuKernels::kReference, false},
                                 {"avx512", CpuKernels::kAvx512, true},
                                 {"avx512-no-bf16-dot", CpuKernels::kAvx512NoBf16Dot, true},
                                 {"avx2", CpuKernels::kAvx2, true}};

void CheckSteps(const std::string& name, const torch::Device& device, bool bf16,
                const char* variant, const std::vector<StepOutputs>& outs, const StateDict& want,
                int steps) {
  for (int k = 1; k <= steps; ++k) {
    const auto& o = outs[k - 1];
    const std::string s = std::to_string(k);
    const Errors logits = Compare(o.logits, want.at("logits_" + s));
    const Errors q_halt = Compare(o.q_halt, want.at("q_halt_logits_" + s));
    const Errors q_cont = Compare(o.q_continue, want.at("q_continue_logits_" + s));
    std::printf(
        "parity %-32s %s %-16s %-8s step %d: logits rel_l2 %.2e max_abs %.2e argmax %.4f | "
        "q_halt rel_l2 %.2e max_abs %.2e | q_continue rel_l2 %.2e max_abs %.2e\n",
        name.c_str(), device.str().c_str(), variant, bf16 ? "bfloat16" : "float32", k,
        logits.rel_l2, logits.max_abs, logits.argmax_agree, q_halt.rel_l2, q_halt.max_abs,
        q_cont.rel_l2, q_cont.max_abs);
    if (bf16) {
      EXPECT_LE(logits.rel_l2, 3e-2) << "step " << k;
      EXPECT_GE(logits.argmax_agree, 0.95) << "step " << k;
      EXPECT_LE(q_halt.rel_l2, 3e-2) << "step " << k;
      EXPECT_LE(q_cont.rel_l2, 3e-2) << "step " << k;
    } else {
      for (const auto& [what, e] : {std::pair{"logits", logits}, std::pair{"q_halt", q_halt},
                                    std::pair{"q_continue", q_cont}}) {
        EXPECT_LE(e.rel_l2, 1e-3) << what << " step " << k;
        EXPECT_LE(e.max_abs, 2e-3) << what << " step " << k;
      }
    }
  }
}

// $TRM_PARITY_DIR where it is set (bench/gpu/run.sh carries the vectors), else shared/parity.
fs::path ParityDir() {
  const std::string dir = Env("TRM_PARITY_DIR", "");
  return dir.empty() ? test_data::SharedDir() / "parity" : fs::path(dir);
}

TEST(Parity, EveryVectorEveryStep) {
  if (Env("TRM_PARITY_DIR", "").empty()) TRM_SKIP_WITHOUT_SHARED(test_data::SharedDir() / "parity");
  const fs::path dir = ParityDir();
  ASSERT_TRUE(fs::is_directory(dir)) << "parity directory " << dir << " not found";
  const auto configs = ParityConfigs(dir);
  ASSERT_FALSE(configs.empty()) << "no *.config.json in " << dir;
  const torch::Device device(Env("TRM_PARITY_DEVICE", "cpu"));
  const std::string dtype_override = Env("TRM_PARITY_DTYPE", "");

  for (const auto& config_path : configs) {
    const std::string base = config_path.string().substr(0, config_path.string().size() - 12);
    const std::string name = fs::path(base).filename().string();
    SCOPED_TRACE(name);
    std::ifstream in(config_path);
    const auto j = nlohmann::json::parse(in);
    const int steps = j.value("steps_recorded", 1);

    LoadOptions options;
    options.device = device;
    if (!dtype_override.empty()) {
      // Write a copy of the config with the forward dtype replaced.
      auto copy = j;
      copy["forward_dtype"] = dtype_override;
      options.config_json = (fs::temp_directory_path() / (name + ".override.json")).string();
      std::ofstream(options.config_json) << copy.dump();
    }
    auto loaded = LoadCheckpoint(base + ".pt", options);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    const bool bf16 = loaded->info.config.forward_dtype == "bfloat16";

    auto expected = ReadStateDict(base + ".expected.pt");
    ASSERT_TRUE(expected.ok()) << expected.status();
    auto& want = *expected;
    auto inputs = want.at("inputs").to(device);
    auto ids = want.at("puzzle_identifiers").to(device);
    for (const Variant& variant : kVariants) {
      // The no-bf16-dot variant differs from "avx512" only for bfloat16 models.
      if (variant.kernels == CpuKernels::kAvx512NoBf16Dot && !bf16) continue;
      SCOPED_TRACE(variant.name);
      const std::unique_ptr<StepRunner> runner = MakeStepRunner(loaded->net, variant.kernels);
      auto outs = RunSteps(loaded->net, *runner, inputs, ids, steps);
      const bool fast = runner->last_step_fast();
      if (variant.fast && !fast) {
        std::printf("parity %-32s %s %-16s: not available here (needs AVX-512 on the CPU)\n",
                    name.c_str(), device.str().c_str(), variant.name);
        continue;
      }
      EXPECT_EQ(fast, variant.fast);
      CheckSteps(name, device, bf16, variant.name, outs, want, steps);
    }
  }
}

// Official checkpoint -> own format -> identical outputs; own save -> load -> identical.
TEST(Parity, RoundTripsThroughOwnFormat) {
  if (Env("TRM_PARITY_DIR", "").empty()) TRM_SKIP_WITHOUT_SHARED(test_data::SharedDir() / "parity");
  const fs::path dir = ParityDir();
  ASSERT_TRUE(fs::is_directory(dir)) << "parity directory " << dir << " not found";
  for (const auto& config_path : ParityConfigs(dir)) {
    const std::string base = config_path.string().substr(0, config_path.string().size() - 12);
    SCOPED_TRACE(base);
    auto official = LoadCheckpoint(base + ".pt");
    ASSERT_TRUE(official.ok()) << official.status();
    const fs::path out =
        fs::temp_directory_path() / ("trm_parity_roundtrip_" + fs::path(base).filename().string());
    fs::remove_all(out);
    ASSERT_TRUE(SaveCheckpoint(official->net, official->info, out.string()).ok());
    auto own = LoadCheckpoint(out.string());
    ASSERT_TRUE(own.ok()) << own.status();
    EXPECT_EQ(own->info.config.ToJson(), official->info.config.ToJson());

    auto expected = ReadStateDict(base + ".expected.pt");
    ASSERT_TRUE(expected.ok());
    auto inputs = expected->at("inputs");
    auto ids = expected->at("puzzle_identifiers");
    auto a = RunSteps(official->net, *MakeStepRunner(official->net), inputs, ids, 2);
    auto b = RunSteps(own->net, *MakeStepRunner(own->net), inputs, ids, 2);
    for (int k = 0; k < 2; ++k) {
      EXPECT_TRUE(torch::equal(a[k].logits, b[k].logits)) << "step " << k + 1;
      EXPECT_TRUE(torch::equal(a[k].q_halt, b[k].q_halt)) << "step " << k + 1;
    }
    // The own format's weights keep the official key naming, so they compare key by key.
    for (const auto& [key, value] : StateDictOf(official->net))
      EXPECT_TRUE(torch::equal(value, StateDictOf(own->net).at(key))) << key;
    fs::remove_all(out);
  }
}

}  // namespace
}  // namespace trm::model

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
