#include "tests/reliability/raw_h2.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/time/clock.h"
#include "tests/e2e_util.h"

namespace trm::reliability {
namespace {

// HPACK integer with an N-bit prefix (RFC 7541 5.1); `first` holds the bits above the prefix.
void AppendInt(std::string* out, uint8_t first, int prefix_bits, uint64_t value) {
  const uint64_t max = (1u << prefix_bits) - 1;
  if (value < max) {
    out->push_back(static_cast<char>(first | value));
    return;
  }
  out->push_back(static_cast<char>(first | max));
  value -= max;
  while (value >= 128) {
    out->push_back(static_cast<char>(0x80 | (value & 0x7f)));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendString(std::string* out, const std::string& s) {
  AppendInt(out, 0x00, 7, s.size());  // H = 0: not Huffman-coded.
  out->append(s);
}

}  // namespace

std::string EncodeFrame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string f;
  const uint32_t n = static_cast<uint32_t>(payload.size());
  f.push_back(static_cast<char>(n >> 16));
  f.push_back(static_cast<char>(n >> 8));
  f.push_back(static_cast<char>(n));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  const uint32_t id = stream & 0x7fffffff;  // The reserved bit stays 0.
  for (int shift : {24, 16, 8, 0}) f.push_back(static_cast<char>((id >> shift) & 0xff));
  f.append(payload);
  return f;
}

std::string EncodeHeaderBlock(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string block;
  for (const auto& [name, value] : headers) {
    block.push_back(0x00);  // Literal header field without indexing, new name.
    AppendString(&block, name);
    AppendString(&block, value);
  }
  return block;
}

std::string GrpcRequestHeaderBlock(const std::string& path,
                                   const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::pair<std::string, std::string>> h = {{":method", "POST"},
                                                        {":scheme", "http"},
                                                        {":path", path},
                                                        {":authority", "127.0.0.1"},
                                                        {"content-type", "application/grpc"},
                                                        {"te", "trailers"}};
  h.insert(h.end(), extra.begin(), extra.end());
  return EncodeHeaderBlock(h);
}

std::string GrpcMessage(std::string_view bytes) {
  std::string m(1, '\0');  // Not compressed.
  const uint32_t n = static_cast<uint32_t>(bytes.size());
  for (int shift : {24, 16, 8, 0}) m.push_back(static_cast<char>((n >> shift) & 0xff));
  m.append(bytes);
  return m;
}

std::string EncodeSettings(const std::vector<std::pair<uint16_t, uint32_t>>& settings) {
  std::string p;
  for (const auto& [id, value] : settings) {
    p.push_back(static_cast<char>(id >> 8));
    p.push_back(static_cast<char>(id));
    for (int shift : {24, 16, 8, 0}) p.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  return p;
}

std::optional<RawConnection> RawConnection::Connect(int port, const std::string& source) {
  const int fd = e2e::ConnectLoopback(port, source);
  if (fd < 0) return std::nullopt;
  return RawConnection(fd);
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)), closed_(other.closed_) {
  other.fd_ = -1;
}

RawConnection& RawConnection::operator=(RawConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    closed_ = other.closed_;
    other.fd_ = -1;
  }
  return *this;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::StartHttp2(const std::vector<std::pair<uint16_t, uint32_t>>& settings) {
  return Send(kPreface) && Send(EncodeFrame(kSettings, 0, 0, EncodeSettings(settings)));
}

bool RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawConnection::Fill(size_t n, absl::Time end) {
  char chunk[65536];
  while (buffer_.size() < n) {
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now()));
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (ms <= 0 || poll(&p, 1, ms) != 1) return false;
    const ssize_t got = recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) {
      closed_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(got));
  }
  return true;
}

std::optional<Frame> RawConnection::ReadFrame(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  if (!Fill(9, end)) return std::nullopt;
  const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data());
  const size_t length = (size_t{h[0]} << 16) | (size_t{h[1]} << 8) | h[2];
  if (!Fill(9 + length, end)) return std::nullopt;
  Frame f;
  f.type = h[3];
  f.flags = h[4];
  f.stream =
      ((uint32_t{h[5]} & 0x7f) << 24) | (uint32_t{h[6]} << 16) | (uint32_t{h[7]} << 8) | h[8];
  f.payload = buffer_.substr(9, length);
  buffer_.erase(0, 9 + length);
  return f;
}

std::optional<Frame> RawConnection::ReadUntil(uint8_t type, uint32_t stream, absl::Duration timeout,
                                              std::vector<Frame>* seen) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    std::optional<Frame> f = ReadFrame(end - absl::Now());
    if (!f) return std::nullopt;
    if (f->type == kSettings && !(f->flags & kAck)) Send(EncodeFrame(kSettings, kAck, 0, ""));
    if (seen) seen->push_back(*f);
    if (f->type == type && f->stream == stream) return f;
  }
  return std::nullopt;
}

std::vector<RawConnection> IdleConnections(int port, int n, const std::string& source) {
  std::vector<RawConnection> out;
  for (int i = 0; i < n; ++i) {
    auto c = RawConnection::Connect(port, source);
    if (!c) break;
    c->StartHttp2();
    out.push_back(std::move(*c));
  }
  return out;
}

int SendRapidResets(RawConnection& c, int resets) {
  const std::string headers = GrpcRequestHeaderBlock("/trm.v1.Solver/Solve");
  const std::string cancel("\0\0\0\x08", 4);  // CANCEL
  uint32_t stream = 1;
  int sent = 0;
  for (; sent < resets; sent += 100) {
    std::string batch;
    for (int i = 0; i < 100; ++i, stream += 2) {
      batch += EncodeFrame(kHeaders, kEndHeaders, stream, headers);
      batch += EncodeFrame(kRstStream, 0, stream, cancel);
    }
    if (!c.Send(batch)) break;
  }
  return sent;
}

}  // namespace trm::reliability
