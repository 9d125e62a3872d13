// ProcessGroupNCCL for Communicator, compiled only where CMake found a CUDA libtorch with NCCL
// (train/CMakeLists.txt defines TRM_HAVE_NCCL and USE_C10D_NCCL then). Debian's CPU libtorch
// never needs it.
#include <cstdlib>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include "absl/strings/str_cat.h"
#include "train/c10d_group.h"

namespace trm::train {

absl::StatusOr<c10::intrusive_ptr<C10dGroup>> MakeNcclGroup(
    const c10::intrusive_ptr<::c10d::Store>& store, int rank, int world_size,
    std::chrono::milliseconds timeout) {
  // NCCL collectives are asynchronous on the GPU; with blocking wait, Work::wait() throws once
  // `timeout` has passed instead of waiting forever on a peer that died. Both spellings (the
  // variable was renamed in torch 2.2); must be set before the group exists.
  setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
  setenv("NCCL_BLOCKING_WAIT", "1", 0);
  auto options = ::c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  try {
    return c10::intrusive_ptr<C10dGroup>(
        c10::make_intrusive<::c10d::ProcessGroupNCCL>(store, rank, world_size, options));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", rank, ": NCCL process group: ", e.what()));
  }
}

}  // namespace trm::train
