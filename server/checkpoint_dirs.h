// Which checkpoints `trm-server` loads (`--checkpoints` entries, or by default every model under
// the repository's checkpoints/ folder), and where Admin reloads may read from (the checkpoint
// roots). Torch-free: std::filesystem and absl only.
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

// The default checkpoint roots for `--checkpoints` entries: each model folder's (or .pt file's)
// parent folder and each folder of model folders, in order, without repeats. Entries that do not
// exist are skipped (ExpandCheckpoints reports them).
std::vector<std::string> DefaultCheckpointRoots(const std::vector<std::string>& entries);

// Each root made absolute with std::filesystem::weakly_canonical (symlinks resolved), so that
// ConfineToRoots compares resolved paths. A root that does not exist or is not a folder is an
// error naming it: `--checkpoint_roots: /x does not exist`.
absl::StatusOr<std::vector<std::string>> CanonicalRoots(const std::vector<std::string>& roots);

// `path` resolved with weakly_canonical (relative to the working directory; `..` and symlinks in
// the part that exists are resolved first, so neither can lead out of a root) when it is one of
// `canonical_roots` or lies below one; otherwise PERMISSION_DENIED naming the path and the roots.
// The returned path is the one to open: it is what was checked. A symlink swapped in after the
// check is not caught; the roots are meant to be writable only by the operator.
absl::StatusOr<std::string> ConfineToRoots(const std::string& path,
                                           const std::vector<std::string>& canonical_roots);

}  // namespace trm::server
