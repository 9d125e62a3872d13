#include "puzzle/npy.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "puzzle/puzzle_file.h"

namespace trm::puzzle {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct DtypeInfo {
  int bytes;
  bool is_signed;
  int64_t min, max;
};

DtypeInfo Info(NpyDtype d) {
  switch (d) {
    case NpyDtype::kUInt8:
      return {1, false, 0, 255};
    case NpyDtype::kInt8:
      return {1, true, -128, 127};
    case NpyDtype::kInt16:
      return {2, true, -32768, 32767};
    case NpyDtype::kUInt16:
      return {2, false, 0, 65535};
    case NpyDtype::kInt32:
      return {4, true, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    case NpyDtype::kUInt32:
      return {4, false, 0, std::numeric_limits<uint32_t>::max()};
    case NpyDtype::kInt64:
      return {8, true, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
  return {4, true, 0, 0};
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// The value after `'key':` in the header dict, up to the matching delimiter.
bool FindValue(std::string_view header, std::string_view key, std::string_view& value) {
  std::string quoted1 = "'" + std::string(key) + "'", quoted2 = "\"" + std::string(key) + "\"";
  size_t at = header.find(quoted1);
  if (at == std::string_view::npos) at = header.find(quoted2);
  if (at == std::string_view::npos) return false;
  at = header.find(':', at);
  if (at == std::string_view::npos) return false;
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  size_t end = at;
  if (at < header.size() && header[at] == '(') {
    end = header.find(')', at);
    if (end == std::string_view::npos) return false;
    ++end;
  } else if (at < header.size() && (header[at] == '\'' || header[at] == '"')) {
    end = header.find(header[at], at + 1);
    if (end == std::string_view::npos) return false;
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  value = header.substr(at, end - at);
  return true;
}

}  // namespace

std::string NpyDescr(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kUInt8:
      return "|u1";
    case NpyDtype::kInt8:
      return "|i1";
    case NpyDtype::kInt16:
      return "<i2";
    case NpyDtype::kUInt16:
      return "<u2";
    case NpyDtype::kInt32:
      return "<i4";
    case NpyDtype::kUInt32:
      return "<u4";
    case NpyDtype::kInt64:
      return "<i8";
  }
  return "?";
}

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Expected<std::string> EncodeNpyHeader(NpyDtype dtype, const std::vector<int64_t>& shape,
                                      size_t header_size) {
  std::string dict = "{'descr': '" + NpyDescr(dtype) +
                     "', 'fortran_order': False, 'shape': " + ShapeString(shape) + ", }";
  // Magic (6) + version (2) + length (2) + dict + spaces + '\n'; data then starts aligned to 64
  // bytes, as numpy >= 1.9 writes it.
  size_t needed = 10 + dict.size() + 1;
  size_t total = header_size ? header_size : (needed + 63) / 64 * 64;
  if (total < needed || total - 10 > 65535) {
    return Error{"npy: header for shape " + ShapeString(shape) + " does not fit " +
                 std::to_string(total) + " bytes"};
  }
  dict.append(total - needed, ' ');
  dict += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  return out;
}

Expected<std::string> EncodeNpy(const NpyArray& array) {
  for (int64_t d : array.shape) {
    if (d < 0) return Error{"npy: negative dimension in shape " + ShapeString(array.shape)};
  }
  if (array.size() != static_cast<int64_t>(array.values.size())) {
    return Error{"npy: shape " + ShapeString(array.shape) + " needs " +
                 std::to_string(array.size()) + " values, got " +
                 std::to_string(array.values.size())};
  }
  const DtypeInfo info = Info(array.dtype);
  auto header = EncodeNpyHeader(array.dtype, array.shape);
  if (!header.ok()) return header.error();
  std::string out = std::move(header).value();
  out.reserve(out.size() + array.values.size() * info.bytes);
  for (size_t i = 0; i < array.values.size(); ++i) {
    int64_t v = array.values[i];
    if (v < info.min || v > info.max) {
      return Error{"npy: value " + std::to_string(v) + " at index " + std::to_string(i) +
                   " does not fit " + NpyDescr(array.dtype)};
    }
    uint64_t u = static_cast<uint64_t>(v);
    for (int b = 0; b < info.bytes; ++b) out += static_cast<char>((u >> (8 * b)) & 0xff);
  }
  return out;
}

Expected<void> WriteNpy(const std::string& path, const NpyArray& array) {
  auto bytes = EncodeNpy(array);
  if (!bytes.ok()) return Error{path + ": " + bytes.error().message};
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Error{"npy: cannot write " + path + ": " + std::strerror(errno)};
  out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  out.close();
  if (!out) return Error{"npy: cannot write " + path + ": " + std::strerror(errno)};
  return Ok();
}

Expected<void> WriteNpy(const std::string& path, NpyDtype dtype, std::vector<int64_t> shape,
                        std::span<const int32_t> values) {
  NpyArray array{dtype, std::move(shape), std::vector<int64_t>(values.begin(), values.end())};
  return WriteNpy(path, array);
}

Expected<NpyHeader> DecodeNpyHeader(std::string_view bytes) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view(kMagic, 6)) {
    return Error{"npy: bad magic"};
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) |
                 (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return Error{"npy: truncated header"};
    header_len = 0;
    for (int b = 0; b < 4; ++b) {
      header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + b])) << (8 * b);
    }
    offset = 12;
  } else {
    return Error{"npy: unsupported version " + std::to_string(major)};
  }
  if (header_len > bytes.size() - offset) return Error{"npy: truncated header"};
  std::string_view header = bytes.substr(offset, header_len);
  std::string_view descr, fortran, shape_text;
  if (!FindValue(header, "descr", descr) || !FindValue(header, "fortran_order", fortran) ||
      !FindValue(header, "shape", shape_text)) {
    return Error{"npy: header lacks descr, fortran_order or shape"};
  }
  if (fortran.substr(0, 4) != "Fals") return Error{"npy: Fortran order is not supported"};
  if (descr.size() < 2) return Error{"npy: bad descr"};
  std::string d(descr.substr(1, descr.size() - 2));
  NpyHeader array;
  bool& big_endian = array.big_endian;
  bool& is_bool = array.is_bool;
  if (d.size() != 3) return Error{"npy: unsupported dtype '" + d + "'"};
  char order = d[0];
  std::string kind = d.substr(1);
  if (order == '>')
    big_endian = true;
  else if (order != '<' && order != '|' && order != '=') {
    return Error{"npy: unsupported dtype '" + d + "'"};
  }
  if (kind == "u1")
    array.dtype = NpyDtype::kUInt8;
  else if (kind == "b1")
    array.dtype = NpyDtype::kUInt8, is_bool = true;
  else if (kind == "i1")
    array.dtype = NpyDtype::kInt8;
  else if (kind == "i2")
    array.dtype = NpyDtype::kInt16;
  else if (kind == "u2")
    array.dtype = NpyDtype::kUInt16;
  else if (kind == "i4")
    array.dtype = NpyDtype::kInt32;
  else if (kind == "u4")
    array.dtype = NpyDtype::kUInt32;
  else if (kind == "i8")
    array.dtype = NpyDtype::kInt64;
  else
    return Error{"npy: unsupported dtype '" + d + "'"};
  // Shape: "(a, b, )" or "()".
  std::string_view s = shape_text;
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') return Error{"npy: bad shape"};
  s = s.substr(1, s.size() - 2);
  size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == ',')) ++pos;
    if (pos >= s.size()) break;
    int64_t v = 0;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (v > (int64_t(1) << 40)) return Error{"npy: bad shape"};
      v = v * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == start) return Error{"npy: bad shape"};
    array.shape.push_back(v);
    if (array.shape.size() > 32) return Error{"npy: bad shape"};
  }
  array.data_offset = offset + header_len;
  array.descr = d;
  return array;
}

Expected<NpyArray> DecodeNpy(std::string_view bytes) {
  auto parsed = DecodeNpyHeader(bytes);
  if (!parsed.ok()) return parsed.error();
  const NpyHeader& h = *parsed;
  NpyArray array{h.dtype, h.shape, {}};
  const bool big_endian = h.big_endian, is_bool = h.is_bool;
  const std::string& d = h.descr;
  const DtypeInfo info = Info(array.dtype);
  int64_t count = 1;
  for (int64_t dim : array.shape) {
    if (dim != 0 && count > (int64_t(1) << 40) / dim) return Error{"npy: shape too large"};
    count *= dim;
  }
  std::string_view data = bytes.substr(h.data_offset);
  if (static_cast<int64_t>(data.size()) != count * info.bytes) {
    return Error{"npy: data has " + std::to_string(data.size()) + " bytes, shape " +
                 ShapeString(array.shape) + " of " + d + " needs " +
                 std::to_string(count * info.bytes)};
  }
  array.values.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    uint64_t u = 0;
    for (int b = 0; b < info.bytes; ++b) {
      int src = big_endian ? info.bytes - 1 - b : b;
      u |= static_cast<uint64_t>(static_cast<unsigned char>(data[i * info.bytes + src])) << (8 * b);
    }
    int64_t v;
    if (info.is_signed && info.bytes < 8 && (u >> (8 * info.bytes - 1)) & 1) {
      v = static_cast<int64_t>(u) - (int64_t(1) << (8 * info.bytes));
    } else {
      v = static_cast<int64_t>(u);
    }
    array.values[i] = is_bool ? (v != 0) : v;
  }
  return array;
}

Expected<NpyArray> ReadNpy(const std::string& path) {
  auto bytes = ReadTextFile(path);
  if (!bytes.ok()) return Error{"npy: " + bytes.error().message};
  auto array = DecodeNpy(*bytes);
  if (!array.ok()) return Error{path + ": " + array.error().message};
  return array;
}

}  // namespace trm::puzzle
