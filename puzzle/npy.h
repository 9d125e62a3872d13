// NumPy .npy files (format version 1.0), enough for the official dataset arrays: little-endian
// integer arrays in C order. What WriteNpy writes, numpy.load reads; ReadNpy reads what
// numpy.save writes for the integer dtypes below.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "puzzle/expected.h"

namespace trm::puzzle {

enum class NpyDtype { kUInt8, kInt8, kInt16, kInt32, kInt64, kUInt16, kUInt32 };

// "<i4", "|u1", ...
std::string NpyDescr(NpyDtype dtype);

// An integer array held as int64 values whatever its stored dtype.
struct NpyArray {
  NpyDtype dtype = NpyDtype::kInt32;
  std::vector<int64_t> shape;
  std::vector<int64_t> values;  // C order, product(shape) values.

  int64_t size() const;  // Product of shape (1 for a 0-d array).
};

// Serialises to bytes / writes a file. Errors when a value does not fit the dtype
// (`npy: value 300 at index 7 does not fit |u1`) or shape and values disagree, or (file) the
// path cannot be written (`npy: cannot write /x/y.npy: No such file or directory`).
Expected<std::string> EncodeNpy(const NpyArray& array);
Expected<void> WriteNpy(const std::string& path, const NpyArray& array);
// Shorthand for int32 data.
Expected<void> WriteNpy(const std::string& path, NpyDtype dtype, std::vector<int64_t> shape,
                        std::span<const int32_t> values);

// Just the header (magic, version 1.0, dict) for data that follows; padded with spaces so the
// header is `header_size` bytes (0: the smallest multiple of 64 that fits). Streaming writers
// reserve a fixed size and rewrite the header with the final shape. Errors when it cannot fit.
Expected<std::string> EncodeNpyHeader(NpyDtype dtype, const std::vector<int64_t>& shape,
                                      size_t header_size = 0);

// The header alone (`bytes` may hold the whole file or just its start): dtype, shape and where
// the data begins. Same errors as DecodeNpy for the header part.
struct NpyHeader {
  NpyDtype dtype = NpyDtype::kInt32;
  std::vector<int64_t> shape;
  bool big_endian = false;
  bool is_bool = false;  // '|b1', read as kUInt8 0/1.
  size_t data_offset = 0;
  std::string descr;  // As written, e.g. "<i4".
};
Expected<NpyHeader> DecodeNpyHeader(std::string_view bytes);

// Parses bytes / reads a file. Accepts versions 1.0-3.0, C order, integer and bool dtypes of
// either byte order. Errors say what is wrong: `npy: bad magic`, `npy: unsupported dtype '<f4'`,
// `npy: Fortran order is not supported`, `npy: data has 12 bytes, shape (4, 4) of <i4 needs 64`.
Expected<NpyArray> DecodeNpy(std::string_view bytes);
Expected<NpyArray> ReadNpy(const std::string& path);

}  // namespace trm::puzzle
