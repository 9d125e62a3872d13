#include "server/guards/metadata_limit.h"

#include "absl/strings/str_cat.h"

namespace trm::server {

size_t MetadataBytes(const grpc::ServerContextBase& context) {
  size_t bytes = 0;
  for (const auto& [name, value] : context.client_metadata()) {
    bytes += name.size() + value.size() + 32;  // RFC 7541 4.1: an entry's size.
  }
  return bytes;
}

absl::Status CheckMetadataSize(const grpc::ServerContextBase& context, size_t limit) {
  const size_t bytes = MetadataBytes(context);
  if (bytes <= limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "request metadata: ", bytes, " bytes, the limit is ", limit, " (--max_metadata_bytes)"));
}

}  // namespace trm::server
