// Where a model runs, from the text of a --device flag: one parser for the engine, trm-train and
// the benchmarks.
#pragma once

#include <torch/torch.h>

#include <string>

#include "absl/status/statusor.h"

namespace trm::model {

// "auto" (or empty) | "cpu" | "cuda" | "cuda:N". auto: the first CUDA device when one is present,
// else the CPU. A CUDA device this machine does not have is INVALID_ARGUMENT naming it.
absl::StatusOr<torch::Device> ParseDevice(const std::string& device);

}  // namespace trm::model
