#include "server/http/http_connections.h"

#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/guards/process_sockets.h"

namespace trm::server {
namespace {

// "addr:port" of the peer, written as httplib writes Request::remote_addr (getnameinfo with
// NI_NUMERICHOST) and remote_port; empty when `fd` has no peer (a listening socket).
std::string PeerOf(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  const int port = PortOf(addr);
  char host[NI_MAXHOST];
  if (port < 0 || getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, nullptr,
                              0, NI_NUMERICHOST) != 0) {
    return "";
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace

struct HttpConnections::BusyMark {
  BusyMark(HttpConnections* owner, unsigned long inode) : owner(owner), inode(inode) {}
  ~BusyMark() { owner->Release(inode); }
  HttpConnections* owner;
  unsigned long inode;
};

void HttpConnections::ScanLocked() {
  DIR* dir = opendir("/proc/self/fd");
  visible_ = dir != nullptr;
  if (dir == nullptr) return;
  std::set<unsigned long> seen;
  const absl::Time now = absl::Now();
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd == dirfd(dir)) continue;
    const unsigned long inode = SocketInode(fd);
    if (inode == 0) continue;
    auto it = connections_.find(inode);
    if (it != connections_.end() && it->second.fd == fd) {
      seen.insert(inode);
      continue;
    }
    // A socket we have not classified yet: ours if bound to our port and connected.
    if (LocalPort(fd) != port_) continue;
    std::string peer = PeerOf(fd);
    if (peer.empty()) continue;
    connections_[inode] = Connection{.fd = fd,
                                     .peer = std::move(peer),
                                     .since = now,
                                     .opened = now,
                                     .head_waiting = false,
                                     .busy = 0};
    seen.insert(inode);
  }
  closedir(dir);
  for (auto it = connections_.begin(); it != connections_.end();) {
    // A busy connection stays: its token will come back for it, and httplib closes the socket
    // only after the handler is done with it.
    it = seen.count(it->first) || it->second.busy > 0 ? std::next(it) : connections_.erase(it);
  }
}

HttpConnections::Map::iterator HttpConnections::FindLocked(const std::string& peer) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (auto it = connections_.begin(); it != connections_.end(); ++it) {
      if (it->second.peer == peer) return it;
    }
    if (attempt == 0) ScanLocked();  // A connection accepted since the last scan.
  }
  return connections_.end();
}

std::shared_ptr<void> HttpConnections::Busy(const std::string& addr, int port) {
  MutexLock lock(&mu_);
  auto it = FindLocked(absl::StrCat(addr, ":", port));
  if (it == connections_.end()) return nullptr;
  ++it->second.busy;
  return std::make_shared<BusyMark>(this, it->first);
}

void HttpConnections::Release(unsigned long inode) {
  MutexLock lock(&mu_);
  auto it = connections_.find(inode);
  if (it == connections_.end()) return;
  if (--it->second.busy == 0) {
    it->second.since = absl::Now();
    it->second.head_waiting = false;  // The next request's head is yet to come.
    it->second.peeked = 0;
  }
}

bool HttpConnections::PeerGone(const std::string& addr, int port) {
  int fd = -1;
  unsigned long inode = 0;
  {
    MutexLock lock(&mu_);
    auto it = FindLocked(absl::StrCat(addr, ":", port));
    if (!visible_) return false;  // Without /proc nothing is known: never cancel on a guess.
    if (it == connections_.end()) return true;
    inode = it->first;
    fd = it->second.fd;
  }
  if (InodeOf(fd) != inode) return true;
  pollfd p{.fd = fd, .events = POLLRDHUP, .revents = 0};
  if (poll(&p, 1, 0) < 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool HttpConnections::ShutdownIfSame(int fd, unsigned long inode) {
  // The fd may have been closed and reused since the scan; only the same socket is shut down.
  return InodeOf(fd) == inode && shutdown(fd, SHUT_RDWR) == 0;
}

namespace {

// How long a connection whose whole request head was seen waiting may go unmarked once a worker
// has read it.
constexpr absl::Duration kHeadReadGrace = absl::Seconds(1);

// Whether the bytes waiting on `fd` hold a whole request head (up to the blank line; a head
// larger than the buffer counts as not yet arrived).
bool HeadersArrived(int fd) {
  char buf[8 << 10];
  const ssize_t n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 && std::string_view(buf, n).find("\r\n\r\n") != std::string_view::npos;
}

}  // namespace

int HttpConnections::CloseSlow(absl::Duration deadline, bool shed_partial) {
  MutexLock lock(&mu_);
  ScanLocked();
  const absl::Time now = absl::Now();
  int closed = 0;
  for (auto& [inode, c] : connections_) {
    if (c.busy > 0) continue;
    // Bytes the server has not read yet mean the connection waits for a worker, not the other
    // way round: that is no fault of the client's, and its deadline starts again. Only from the
    // last time it was seen waiting does it run, so a request a worker has just read is not cut
    // off before its handler marks it busy (on a loaded machine that gap has been long enough to
    // lose a scrape queued behind 66 silent connections).
    pollfd p{.fd = c.fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0 && (p.revents & POLLRDHUP) == 0) {
      if (shed_partial) {
        // Looked at again only when more has arrived (a slow client sends a byte at a time).
        int unread = 0;
        if (!c.head_waiting && ioctl(c.fd, FIONREAD, &unread) == 0 && unread != c.peeked) {
          c.peeked = unread;
          c.head_waiting = HeadersArrived(c.fd);
        }
        if (!c.head_waiting && now - c.opened > deadline && ShutdownIfSame(c.fd, inode)) {
          ++closed;
          continue;
        }
      }
      c.since = now;
      continue;
    }
    // A whole request head was seen waiting: a worker has it now and marks it busy in a moment;
    // on a loaded machine that moment has been long, so it keeps the unpressed deadline.
    const absl::Duration allowed = c.head_waiting ? std::max(deadline, kHeadReadGrace) : deadline;
    if (now - c.since > allowed && ShutdownIfSame(c.fd, inode)) ++closed;
  }
  return closed;
}

int HttpConnections::CloseIdle(bool busy_too) {
  MutexLock lock(&mu_);
  ScanLocked();
  int closed = 0;
  for (const auto& [inode, c] : connections_) {
    if ((busy_too || c.busy == 0) && ShutdownIfSame(c.fd, inode)) ++closed;
  }
  return closed;
}

int HttpConnections::BusyCount() {
  MutexLock lock(&mu_);
  int busy = 0;
  for (const auto& [inode, c] : connections_) busy += c.busy > 0;
  return busy;
}

}  // namespace trm::server
