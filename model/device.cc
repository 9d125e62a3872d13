#include "model/device.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace trm::model {

absl::StatusOr<torch::Device> ParseDevice(const std::string& device) {
  if (device == "auto" || device.empty()) {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0)
                                       : torch::Device(torch::kCPU);
  }
  if (device == "cpu") return torch::Device(torch::kCPU);
  if (device == "cuda" || absl::StartsWith(device, "cuda:")) {
    int index = 0;
    if (device.size() > 5 && !absl::SimpleAtoi(device.substr(5), &index)) {
      return absl::InvalidArgumentError(absl::StrCat("device \"", device, "\": bad CUDA index"));
    }
    if (!torch::cuda::is_available() || index < 0 ||
        index >= static_cast<int>(torch::cuda::device_count())) {
      return absl::InvalidArgumentError(
          absl::StrCat("device \"", device, "\": no such CUDA device on this machine"));
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device \"", device, "\": expected auto, cpu, cuda or cuda:N"));
}

}  // namespace trm::model
