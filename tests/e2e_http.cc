#include "tests/e2e_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e_util.h"

namespace trm::e2e {

RawConnection::RawConnection(int port, const std::string& source)
    : fd_(ConnectLoopback(port, source)) {}

RawConnection::~RawConnection() { Close(); }

void RawConnection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool RawConnection::Send(const std::string& bytes) {
  size_t done = 0;
  while (fd_ >= 0 && done < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += n;
  }
  return fd_ >= 0;
}

bool RawConnection::Read(std::string* out, absl::Duration timeout) {
  if (fd_ < 0) return false;
  pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
  if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) return true;
  char buf[16384];
  const ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  out->append(buf, n);
  return true;
}

bool RawConnection::ClosedWithin(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  std::string ignored;
  while (absl::Now() < end) {
    if (!Read(&ignored, absl::Milliseconds(50))) return true;
    ignored.clear();
  }
  return false;
}

namespace {

std::string RequestText(const std::string& method, const std::string& path, const std::string& body,
                        const std::vector<std::string>& headers, bool close) {
  std::string text = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& h : headers) absl::StrAppend(&text, h, "\r\n");
  if (!body.empty() || method == "POST") {
    absl::StrAppend(&text, "Content-Type: application/json\r\nContent-Length: ", body.size(),
                    "\r\n");
  }
  if (close) text += "Connection: close\r\n";
  return absl::StrCat(text, "\r\n", body);
}

}  // namespace

SseClient::SseClient(int port, const std::string& path, const std::string& body,
                     const std::vector<std::string>& headers)
    : connection_(port) {
  connection_.Send(RequestText("POST", path, body, headers, /*close=*/true));
}

bool SseClient::Fill(absl::Duration timeout) {
  if (ended_) return false;
  const size_t before = raw_.size();
  const bool open = connection_.Read(&raw_, timeout);
  if (!headers_done_) {
    const size_t end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return open && raw_.size() > before;
    const std::string head = raw_.substr(0, end);
    raw_ = raw_.substr(end + 4);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() >= 12) absl::SimpleAtoi(status_line.substr(9, 3), &status_);
    while (line_end != std::string::npos) {
      const size_t next = head.find("\r\n", line_end + 2);
      const std::string line = head.substr(line_end + 2, next - line_end - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        headers_[absl::AsciiStrToLower(line.substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
      line_end = next;
    }
    headers_done_ = true;
    chunked_ = Header("transfer-encoding") == "chunked";
  }
  if (!chunked_) {
    body_ += raw_;
    raw_.clear();
    const std::string length = Header("content-length");
    size_t want = 0;
    if (!length.empty() && absl::SimpleAtoi(length, &want) && body_.size() >= want) ended_ = true;
    if (!open) ended_ = true;
    return open || !body_.empty();
  }
  // Chunks: "<hex size>\r\n<data>\r\n", ended by a chunk of size 0.
  for (;;) {
    const size_t line_end = raw_.find("\r\n");
    if (line_end == std::string::npos) break;
    const size_t size = std::strtoul(raw_.substr(0, line_end).c_str(), nullptr, 16);
    if (size == 0) {
      ended_ = true;
      break;
    }
    if (raw_.size() < line_end + 2 + size + 2) break;
    body_ += raw_.substr(line_end + 2, size);
    raw_ = raw_.substr(line_end + 2 + size + 2);
  }
  if (!open) ended_ = true;
  return open;
}

int SseClient::Status(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!headers_done_ && absl::Now() < end) {
    if (!Fill(end - absl::Now()) && !headers_done_) break;
  }
  return status_;
}

std::string SseClient::Header(const std::string& lower_case_name) const {
  auto it = headers_.find(lower_case_name);
  return it == headers_.end() ? "" : it->second;
}

std::optional<SseClient::Event> SseClient::Next(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  if (Status(timeout) == 0) return std::nullopt;
  for (;;) {
    const size_t block_end = body_.find("\n\n");
    if (block_end != std::string::npos) {
      const std::string block = body_.substr(0, block_end);
      body_ = body_.substr(block_end + 2);
      Event event;
      size_t start = 0;
      while (start <= block.size()) {
        size_t nl = block.find('\n', start);
        if (nl == std::string::npos) nl = block.size();
        const std::string line = block.substr(start, nl - start);
        if (line.rfind("event:", 0) == 0) {
          event.name = std::string(absl::StripAsciiWhitespace(line.substr(6)));
        } else if (line.rfind("data:", 0) == 0) {
          if (!event.data.empty()) event.data += "\n";
          event.data += std::string(absl::StripLeadingAsciiWhitespace(line.substr(5)));
        }
        start = nl + 1;
      }
      return event;
    }
    if (ended_ || absl::Now() >= end) return std::nullopt;
    Fill(std::min(end - absl::Now(), absl::Milliseconds(100)));
  }
}

std::string SseClient::Rest(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  Status(timeout);
  while (!ended_ && absl::Now() < end) Fill(std::min(end - absl::Now(), absl::Milliseconds(100)));
  std::string out;
  out.swap(body_);
  return out;
}

HttpReply HttpCall(int port, const std::string& method, const std::string& path,
                   const std::string& body, const std::vector<std::string>& headers,
                   absl::Duration timeout, const std::string& source) {
  HttpReply reply;
  RawConnection c(port, source);
  if (!c.connected() || !c.Send(RequestText(method, path, body, headers, /*close=*/true))) {
    return reply;
  }
  std::string raw;
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end && c.Read(&raw, absl::Milliseconds(100))) {
  }
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.size() < 12) return reply;
  absl::SimpleAtoi(raw.substr(9, 3), &reply.status);
  const std::string head = raw.substr(0, head_end);
  std::string rest = raw.substr(head_end + 4);
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    const size_t next = head.find("\r\n", pos + 2);
    const std::string line = head.substr(pos + 2, next - pos - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      reply.headers[absl::AsciiStrToLower(line.substr(0, colon))] =
          std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
    pos = next;
  }
  if (reply.headers["transfer-encoding"] == "chunked") {
    for (;;) {
      const size_t line_end = rest.find("\r\n");
      if (line_end == std::string::npos) break;
      const size_t size = std::strtoul(rest.substr(0, line_end).c_str(), nullptr, 16);
      if (size == 0 || rest.size() < line_end + 2 + size) break;
      reply.body += rest.substr(line_end + 2, size);
      rest = rest.substr(line_end + 2 + size + 2);
    }
  } else {
    reply.body = rest;
  }
  return reply;
}

}  // namespace trm::e2e
