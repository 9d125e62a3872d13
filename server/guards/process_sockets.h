// This process's own sockets, found by descriptor (/proc/self/fd): for the guards that act on
// connections a library accepted and does not show (cpp-httplib's, gRPC's).
//
// Unnecessary when both libraries limit and show their own connections (gRPC >= 1.58, and an
// HTTP server with a connection limit of its own; cpp-httplib 0.11, Debian 12's, has none).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <vector>

namespace trm::server {

// "ip:port" from an address's bytes (4: IPv4, 16: IPv6, an IPv4-mapped one written as IPv4);
// empty for another size.
std::string AddressText(const void* bytes, size_t size, int port);
// The port of an IP address; -1 for other families.
int PortOf(const sockaddr_storage& addr);
// The socket inode behind `fd` ("socket:[123]"), or 0 when it is not a socket.
unsigned long SocketInode(int fd);
// The inode of whatever `fd` holds now (fstat), 0 when it is closed: tells a socket from a later
// one that reuses its descriptor. Cheaper than SocketInode, for descriptors known to be sockets.
unsigned long InodeOf(int fd);
// The local port `fd` is bound to; -1 when it is not an IP socket.
int LocalPort(int fd);
// The peer of a connected descriptor as "ip:port" (an IPv4-mapped IPv6 address as IPv4, IPv6
// without brackets, as gRPC's channelz names it); empty when it has none.
std::string PeerOfDescriptor(int fd);
// The local address of a bound descriptor, in the same form.
std::string LocalAddressOf(int fd);
// This process's listening sockets bound to `port` (one per address family, say).
std::vector<int> ListeningSockets(int port);
// The descriptor of this process's connection whose local port is `port` and whose peer is
// `peer` (PeerOfDescriptor's form); -1 when there is none (or /proc cannot be read).
int FindConnection(int port, const std::string& peer);

}  // namespace trm::server
