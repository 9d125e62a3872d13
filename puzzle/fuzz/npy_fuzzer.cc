// libFuzzer target: the .npy decoder; what decodes must re-encode and decode to the same array.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "puzzle/npy.h"

using namespace trm::puzzle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto array = DecodeNpy(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!array.ok()) {
    if (array.error().message.empty()) abort();
    return 0;
  }
  auto bytes = EncodeNpy(*array);
  if (!bytes.ok()) return 0;  // e.g. bool data or big-endian values outside the dtype.
  auto again = DecodeNpy(*bytes);
  if (!again.ok() || again->values != array->values || again->shape != array->shape) abort();
  return 0;
}
