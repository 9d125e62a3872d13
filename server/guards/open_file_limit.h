// The process's open-file limit, raised from its soft value to its hard value at startup.
//
// Every connection is a descriptor, and gRPC 1.51 stops accepting on a port for good after one
// accept4() fails with EMFILE (CVE-2023-4785; server/guards/watchdog.h). Shells and many container
// runtimes start processes with a soft limit of 1024 and a far higher hard one: raising the soft
// limit costs nothing and moves that cliff from about a thousand connections to the hard limit.
//
// Harmless with any gRPC, and the cliff itself is gone from gRPC 1.53.2 (CVE-2023-4785 fixed):
// from there it only keeps more connections possible.
#pragma once

#include <sys/resource.h>

#include "absl/status/statusor.h"

namespace trm::server {

struct OpenFileLimit {
  rlim_t soft_before = 0;
  rlim_t soft = 0;  // Now.
  rlim_t hard = 0;
};

// Sets RLIMIT_NOFILE's soft limit to its hard limit; the limits before and after.
absl::StatusOr<OpenFileLimit> RaiseOpenFileLimit();

}  // namespace trm::server
