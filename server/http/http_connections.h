// The open connections of one HTTP server, for what cpp-httplib 0.11 (Debian 12) cannot do itself:
// its handlers never see their socket, and its reads time out per read, so a client that sends a
// byte every few seconds, or nothing at all, holds a worker for as long as it likes, and
// Server::stop() waits for that worker.
//
// The connections are found by their socket: every socket of this process whose local port is
// the server's port and that has a peer is a connection the server accepted (/proc/self/fd, the
// inode identifies a socket across fd reuse). A handler marks its connection busy by the peer
// address httplib gives it (Request::remote_addr / remote_port). With that, the server can
//   - close connections whose request has not arrived within a deadline (slow or silent clients),
//   - tell a handler that its client has gone (so the engine request is cancelled),
//   - close every connection when it stops, so no worker waits on a client.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "base/sync.h"

namespace trm::server {

class HttpConnections {
 public:
  explicit HttpConnections(int port) : port_(port) {}
  HttpConnections(const HttpConnections&) = delete;
  HttpConnections& operator=(const HttpConnections&) = delete;

  // Marks the connection from peer `addr`:`port` as inside a handler until the returned token is
  // destroyed (a streaming response keeps it until its last write). Null when no such connection
  // is open (the client has gone).
  std::shared_ptr<void> Busy(const std::string& addr, int port);

  // True when the peer has closed or reset the connection (or it is gone). A peer that closes only
  // its sending side counts as gone: HTTP/1.1 clients do not half-close while awaiting an answer.
  // False whenever the process's sockets cannot be listed (no /proc): nothing is then known, and
  // CloseSlow / CloseIdle close nothing.
  bool PeerGone(const std::string& addr, int port);

  // Shuts down (both directions) every connection that is not busy, has been open, or idle since
  // its last response, for longer than `deadline`, and has no unread bytes waiting (which would
  // mean it waits for a worker; the deadline of such a connection counts from the last call that
  // saw it waiting). Returns how many.
  // With `shed_partial` (a flood of slow clients), a waiting connection is shut down too when it
  // has been open longer than `deadline` and what it has sent does not yet hold the end of the
  // request headers: it is a slow client, not one waiting for a worker with its request sent.
  int CloseSlow(absl::Duration deadline, bool shed_partial = false);
  // Shuts down every connection that is not busy; with `busy_too`, all of them. Returns how many.
  int CloseIdle(bool busy_too = false);
  int BusyCount();

  // Implementation details follow.
 private:
  struct Connection {
    int fd = -1;
    std::string peer;           // "addr:port", as httplib writes it.
    absl::Time since;           // First seen, its last busy token gone, or last seen waiting.
    absl::Time opened;          // First seen.
    bool head_waiting = false;  // A whole request head was seen waiting (CloseSlow, pressed).
    int peeked = 0;             // Bytes waiting when last looked at.
    int busy = 0;
  };
  // Brings connections_ up to date with the process's sockets.
  void ScanLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  using Map = std::map<unsigned long, Connection>;  // By socket inode.
  // The connection from `peer` (rescanning once when it is not known yet), or end().
  Map::iterator FindLocked(const std::string& peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // shutdown(2) if `fd` still holds the socket `inode`.
  static bool ShutdownIfSame(int fd, unsigned long inode);
  struct BusyMark;  // Calls Release when destroyed.
  void Release(unsigned long inode);

  const int port_;
  Mutex mu_;
  Map connections_ ABSL_GUARDED_BY(mu_);
  bool visible_ ABSL_GUARDED_BY(mu_) = true;  // /proc/self/fd could be read at the last scan.
};

}  // namespace trm::server
