#include "server/guards/memory_trimmer.h"

#include <malloc.h>

namespace trm::server {

MemoryTrimmer::MemoryTrimmer(absl::Duration interval)
    : thread_(interval, [](const std::atomic<bool>&) {
        malloc_trim(0);
        return true;
      }) {}

}  // namespace trm::server
