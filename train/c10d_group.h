// The c10d process-group type across libtorch versions, and the NCCL factory, for
// communicator.cc only. libtorch 1.x's backends derive from c10d::ProcessGroup; from 2.0 on they
// derive from c10d::Backend (ProcessGroup became a dispatcher over backends). The collectives
// used here have the same signatures in both.
#pragma once

#include <torch/version.h>

#include <chrono>
#include <string>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include "absl/status/statusor.h"

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

namespace trm::train {

#if TORCH_VERSION_MAJOR >= 2
using C10dGroup = ::c10d::Backend;
#else
using C10dGroup = ::c10d::ProcessGroup;
#endif

// ProcessGroupNCCL over `store` (communicator_nccl.cc, built only where CMake found NCCL).
absl::StatusOr<c10::intrusive_ptr<C10dGroup>> MakeNcclGroup(
    const c10::intrusive_ptr<::c10d::Store>& store, int rank, int world_size,
    std::chrono::milliseconds timeout);

}  // namespace trm::train
