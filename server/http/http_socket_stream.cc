#include "server/http/http_socket_stream.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace trm::server {
namespace {

int Millis(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 1 << 30));
}

void NameOf(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  // As httplib 0.11 writes them: HttpConnections finds a connection by this peer text.
  if (addr.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  } else if (addr.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  }
  char host[NI_MAXHOST] = {};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, nullptr, 0,
                  NI_NUMERICHOST) == 0) {
    ip = host;
  }
}

}  // namespace

HttpSocketStream::HttpSocketStream(int fd, absl::Duration read_timeout,
                                   absl::Duration write_timeout, size_t max_head_bytes)
    : fd_(fd),
      read_timeout_(read_timeout),
      write_timeout_(write_timeout),
      max_head_bytes_(max_head_bytes) {}

bool HttpSocketStream::Poll(short events, absl::Duration timeout) const {
  pollfd p{.fd = fd_, .events = events, .revents = 0};
  int n;
  do {
    n = poll(&p, 1, Millis(timeout));
  } while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
}

bool HttpSocketStream::WaitForRequest(absl::Duration timeout) {
  if (refused_) return false;
  if (buffered_begin_ < buffered_end_) return true;
  return Poll(POLLIN, timeout);
}

void HttpSocketStream::BeginRequest() {
  in_head_ = true;
  head_bytes_ = 0;
}

bool HttpSocketStream::is_readable() const {
  return !refused_ && (buffered_begin_ < buffered_end_ || Poll(POLLIN, read_timeout_));
}

bool HttpSocketStream::is_writable() const { return !refused_ && Poll(POLLOUT, write_timeout_); }

ssize_t HttpSocketStream::read(char* ptr, size_t size) {
  if (refused_) return -1;
  if (in_head_) {
    if (head_bytes_ >= max_head_bytes_) {
      // 431 naming the limit (httplib itself would answer a bare 400); the connection closes
      // with the rest of the head unread.
      Refuse("431 Request Header Fields Too Large",
             absl::StrCat("request head: the request line and headers are larger than the "
                          "server's limit of ",
                          max_head_bytes_, " bytes\n"));
      return -1;
    }
    size = std::min(size, max_head_bytes_ - head_bytes_);
  }
  if (buffered_begin_ == buffered_end_) {
    if (!Poll(POLLIN, read_timeout_)) return -1;
    ssize_t n;
    do {
      n = recv(fd_, buffer_.data(), buffer_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    buffered_begin_ = 0;
    buffered_end_ = static_cast<size_t>(n);
  }
  const size_t n = std::min(size, buffered_end_ - buffered_begin_);
  std::memcpy(ptr, buffer_.data() + buffered_begin_, n);
  buffered_begin_ += n;
  if (in_head_) head_bytes_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t HttpSocketStream::write(const char* ptr, size_t size) {
  if (refused_ || !Poll(POLLOUT, write_timeout_)) return -1;
  ssize_t n;
  do {
    n = send(fd_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void HttpSocketStream::Refuse(const std::string& status, const std::string& body) {
  const std::string response = absl::StrCat(
      "HTTP/1.1 ", status, "\r\nContent-Type: text/plain\r\nContent-Length: ", body.size(),
      "\r\nConnection: close\r\n\r\n", body);
  write(response.data(), response.size());
  refused_ = true;
}

void HttpSocketStream::LingerBeforeClose(absl::Duration time, size_t bytes) {
  shutdown(fd_, SHUT_WR);
  const absl::Time end = absl::Now() + time;
  size_t dropped = 0;
  while (dropped < bytes && absl::Now() < end) {
    if (!Poll(POLLIN, end - absl::Now())) return;
    const ssize_t n = recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (n <= 0 && !(n < 0 && errno == EINTR)) return;
    if (n > 0) dropped += static_cast<size_t>(n);
  }
}

void HttpSocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) NameOf(addr, len, ip, port);
}

void HttpSocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) NameOf(addr, len, ip, port);
}

}  // namespace trm::server
