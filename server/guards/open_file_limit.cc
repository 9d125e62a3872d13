#include "server/guards/open_file_limit.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace trm::server {

absl::StatusOr<OpenFileLimit> RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(absl::StrCat("getrlimit(RLIMIT_NOFILE): ", strerror(errno)));
  }
  OpenFileLimit out{.soft_before = limit.rlim_cur, .soft = limit.rlim_cur, .hard = limit.rlim_max};
  if (limit.rlim_cur == limit.rlim_max) return out;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(
        absl::StrCat("setrlimit(RLIMIT_NOFILE, ", limit.rlim_max, "): ", strerror(errno)));
  }
  out.soft = limit.rlim_max;
  return out;
}

}  // namespace trm::server
