// Gives freed heap memory back to the system every `interval` (glibc's malloc_trim).
//
// glibc keeps the memory a burst freed inside its arenas: after 20 calls with a 15 MiB
// request_id the server held 900 MiB it no longer used (issue 22), which is memory the
// container's limit counts and the kernel cannot give to anyone else. malloc_trim(0) returns
// the free pages of every arena. docs/reliability.md has the measurement that chose it over
// jemalloc and tcmalloc.
//
// Not a gRPC workaround: glibc 2.36 (Debian 12) does not trim arenas on its own, and no glibc
// release does; unnecessary under an allocator that returns freed pages itself.
#pragma once

#include "absl/time/time.h"
#include "base/periodic_thread.h"

namespace trm::server {

class MemoryTrimmer {
 public:
  explicit MemoryTrimmer(absl::Duration interval);

 private:
  PeriodicThread thread_;
};

}  // namespace trm::server
