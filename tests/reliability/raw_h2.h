// Hand-written HTTP/2 for the attacks a gRPC client library will not make: connections that send
// the preface and nothing else, streams reset as soon as they are opened, header blocks far over
// the limit, streams that never take a byte. Just enough framing (RFC 9113) and HPACK (RFC 7541:
// literals only, no Huffman) to write them, and to read frame headers back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace trm::reliability {

inline constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoaway = 7,
  kWindowUpdate = 8,
  kContinuation = 9,
};
enum FrameFlags : uint8_t { kEndStream = 1, kAck = 1, kEndHeaders = 4 };

struct Frame {
  uint8_t type = 0, flags = 0;
  uint32_t stream = 0;
  std::string payload;
};

// One frame's bytes.
std::string EncodeFrame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload);
// A header block of literal fields without indexing, as HPACK allows any peer to send.
std::string EncodeHeaderBlock(const std::vector<std::pair<std::string, std::string>>& headers);
// The header block of a gRPC call to `path` (":method POST", "content-type application/grpc",
// ...) followed by `extra`.
std::string GrpcRequestHeaderBlock(
    const std::string& path, const std::vector<std::pair<std::string, std::string>>& extra = {});
// A gRPC length-prefixed message.
std::string GrpcMessage(std::string_view bytes);
// SETTINGS payload from (id, value) pairs.
std::string EncodeSettings(const std::vector<std::pair<uint16_t, uint32_t>>& settings);

// A TCP connection to 127.0.0.1:port. Blocking writes; reads with a timeout.
class RawConnection {
 public:
  // Connects (from `source`, as e2e::ConnectLoopback); nullopt on failure. Nothing is sent.
  static std::optional<RawConnection> Connect(int port, const std::string& source = "");
  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&& other) noexcept;
  ~RawConnection();

  // The client preface and a SETTINGS frame with `settings`.
  bool StartHttp2(const std::vector<std::pair<uint16_t, uint32_t>>& settings = {});
  bool Send(std::string_view bytes);
  // The next frame, waiting up to `timeout`; nullopt on timeout or when the peer closed.
  std::optional<Frame> ReadFrame(absl::Duration timeout);
  // Frames until one matches (type, stream) or the time is up; the frames read on the way are
  // appended to `seen` when given. SETTINGS from the peer are acknowledged as they come.
  std::optional<Frame> ReadUntil(uint8_t type, uint32_t stream, absl::Duration timeout,
                                 std::vector<Frame>* seen = nullptr);
  bool closed() const { return closed_; }
  int fd() const { return fd_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  bool Fill(size_t n, absl::Time end);

  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
};

// `n` connections that send the HTTP/2 preface and SETTINGS, then nothing (from `source`, as
// RawConnection::Connect); fewer when the kernel refuses more. One the server has already closed
// (past a budget) still counts: the burst is the connections attempted.
std::vector<RawConnection> IdleConnections(int port, int n, const std::string& source = "");

// Streams opened and reset at once on `c` (HEADERS of a Solve call, then RST_STREAM CANCEL), in
// batches of 100, `resets` in all (the rapid reset of CVE-2023-44487). Returns how many were sent
// before the peer closed the connection.
int SendRapidResets(RawConnection& c, int resets);

}  // namespace trm::reliability
