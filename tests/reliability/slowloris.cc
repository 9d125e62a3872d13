#include "tests/reliability/slowloris.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/time/clock.h"

namespace trm::reliability {

Slowloris::Slowloris(int port, int n, std::string source)
    : port_(port), source_(std::move(source)), fds_(n, -1) {
  thread_ = std::thread([this] { Run(); });
}

Slowloris::~Slowloris() {
  stop_ = true;
  thread_.join();
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

int Slowloris::Open() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (!source_.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source_.c_str(), &from.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Loopback connects complete in the kernel's listen queue, accepted or not.
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  const std::string start = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  send(fd, start.data(), start.size(), MSG_NOSIGNAL);
  return fd;
}

void Slowloris::Run() {
  absl::Time next_byte = absl::Now() + absl::Seconds(1);
  while (!stop_) {
    std::vector<pollfd> polls;
    for (int& fd : fds_) {
      if (fd < 0) {
        fd = Open();
        if (fd >= 0) ++reopened_;
      }
      if (fd >= 0) polls.push_back({.fd = fd, .events = POLLIN | POLLRDHUP, .revents = 0});
    }
    poll(polls.data(), polls.size(), 50);
    for (const pollfd& p : polls) {
      if (p.revents == 0) continue;
      char buf[512];
      if (recv(p.fd, buf, sizeof buf, 0) <= 0 || (p.revents & (POLLRDHUP | POLLHUP)) != 0) {
        for (int& fd : fds_) {
          if (fd == p.fd) fd = -1;
        }
        close(p.fd);
      }
    }
    if (absl::Now() >= next_byte) {
      for (int fd : fds_) {
        if (fd >= 0) send(fd, "a", 1, MSG_NOSIGNAL);
      }
      next_byte = absl::Now() + absl::Seconds(1);
    }
  }
}

}  // namespace trm::reliability
