#include "server/guards/process_sockets.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace trm::server {
int PortOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  }
  return -1;
}

std::string AddressText(const void* bytes, size_t size, int port) {
  char text[INET6_ADDRSTRLEN] = {};
  const auto* b = static_cast<const unsigned char*>(bytes);
  static const unsigned char kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (size == 4) {
    inet_ntop(AF_INET, b, text, sizeof text);
  } else if (size == 16 && std::equal(kV4Mapped, kV4Mapped + 12, b)) {
    inet_ntop(AF_INET, b + 12, text, sizeof text);
  } else if (size == 16) {
    inet_ntop(AF_INET6, b, text, sizeof text);
  } else {
    return "";
  }
  return absl::StrCat(text, ":", port);
}

unsigned long SocketInode(int fd) {
  char link[64];
  const std::string path = absl::StrCat("/proc/self/fd/", fd);
  const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
  if (n <= 0) return 0;
  link[n] = '\0';
  if (std::strncmp(link, "socket:[", 8) != 0) return 0;
  return std::strtoul(link + 8, nullptr, 10);
}

unsigned long InodeOf(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

int LocalPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  return PortOf(addr);
}

namespace {

std::string TextOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    return AddressText(&a.sin_addr, 4, ntohs(a.sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    return AddressText(&a.sin6_addr, 16, ntohs(a.sin6_port));
  }
  return "";
}

}  // namespace

std::string PeerOfDescriptor(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  return TextOf(addr);
}

std::string LocalAddressOf(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  return TextOf(addr);
}

namespace {

// Calls `f(fd)` for each socket of this process bound to local port `port` until it returns
// true.
template <typename F>
void ForEachSocketOnPort(int port, F f) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd == dirfd(dir) || SocketInode(fd) == 0 || LocalPort(fd) != port) continue;
    if (f(fd)) break;
  }
  closedir(dir);
}

}  // namespace

std::vector<int> ListeningSockets(int port) {
  std::vector<int> out;
  ForEachSocketOnPort(port, [&](int fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening) {
      out.push_back(fd);
    }
    return false;
  });
  return out;
}

int FindConnection(int port, const std::string& peer) {
  int found = -1;
  ForEachSocketOnPort(port, [&](int fd) {
    if (PeerOfDescriptor(fd) != peer) return false;
    found = fd;
    return true;
  });
  return found;
}

}  // namespace trm::server
