// The byte stream httplib serves an accepted HTTP connection through, in place of httplib 0.11's
// own SocketStream: the same timeouts, plus a bound on the request head.
//
// httplib 0.11 bounds each header line (8 KiB) but not how many there are: one client sending
// 200,000 header lines had 22 MB of head read into memory in 0.45 s and got a 200, and its
// connection may keep that up for the whole request deadline. Here the request line and headers
// together get at most `max_head_bytes`; past that the client is answered 431 and the
// connection ends, before the rest is read. One stream serves every request of its connection,
// so bytes read ahead of one request stay for the next.
#pragma once

#include <httplib.h>

#include <array>
#include <cstddef>
#include <string>

#include "absl/time/time.h"

namespace trm::server {

class HttpSocketStream final : public httplib::Stream {
 public:
  HttpSocketStream(int fd, absl::Duration read_timeout, absl::Duration write_timeout,
                   size_t max_head_bytes);

  // Waits up to `timeout` for the next request's first byte; false when none came, or the
  // peer closed.
  bool WaitForRequest(absl::Duration timeout);
  // A request begins: its head is counted from here.
  void BeginRequest();
  // Its head has been read (httplib's setup_request): the body is not counted.
  void HeadDone() { in_head_ = false; }
  // Answers `status` ("429 Too Many Requests") with a text body and Connection: close; after it
  // nothing more is read or written.
  void Refuse(const std::string& status, const std::string& body);
  // A refusal was sent (Refuse, or the head limit's 431).
  bool refused() const { return refused_; }
  // Before closing after a refusal: ends the sending side and reads and drops what the client
  // still sends, for up to `time` or `bytes`. Closing with its bytes unread would reset the
  // connection, and a reset can reach the client before it has read the answer.
  void LingerBeforeClose(absl::Duration time, size_t bytes);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return fd_; }

 private:
  bool Poll(short events, absl::Duration timeout) const;

  const int fd_;
  const absl::Duration read_timeout_, write_timeout_;
  const size_t max_head_bytes_;
  std::array<char, 4096> buffer_{};  // httplib reads a request's lines a byte at a time.
  size_t buffered_begin_ = 0, buffered_end_ = 0;
  bool in_head_ = false;
  size_t head_bytes_ = 0;
  bool refused_ = false;
};

}  // namespace trm::server
