// Which checkpoints `trm-server` loads: `--checkpoints` entries, or by default every model under
// the repository's checkpoints/ folder.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace trm::server {

struct CheckpointSpec {
  std::string name;  // The model name clients use.
  std::string path;  // A checkpoint directory (config.json) or an official .pt file.
};

// One entry: `PATH` (name = the folder's name, or the .pt file's stem) or `NAME=PATH`. A folder
// without config.json that holds model folders stands for all of them. Errors name the entry:
// `--checkpoints: /x/y does not exist`.
absl::StatusOr<std::vector<CheckpointSpec>> ExpandCheckpoints(
    const std::vector<std::string>& entries);

// The repository's checkpoints/ folder: ./checkpoints, else the first checkpoints/ found walking
// up from the binary's folder. Empty when there is none.
std::string FindDefaultCheckpointsDir();

}  // namespace trm::server
