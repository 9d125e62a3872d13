#include "server/guards/grpc_connection_guard.h"

#include <arpa/inet.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/guards/grpc_call_counts.h"
#include "server/guards/process_sockets.h"

namespace trm::server {
namespace {

using nlohmann::json;

// channelz writes int64 fields as JSON strings (proto3's JSON mapping) and leaves zeros out.
int64_t Int64(const json& object, const char* name) {
  if (!object.is_object()) return 0;
  auto it = object.find(name);
  if (it == object.end()) return 0;
  int64_t v = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  return it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string TakeChannelz(char* text) {
  if (text == nullptr) return "";
  std::string out(text);
  gpr_free(text);
  return out;
}

// The connections of this process's gRPC server(s) whose local port is `port`, with their call
// counts, oldest first. (A listen socket's channelz entry has the address as given, port 0 for
// "any port", so servers are told apart by their connections' own local port.)
std::vector<ChannelzSocket> ServerSockets(int port) {
  std::vector<ChannelzSocket> out;
  const json j = json::parse(TakeChannelz(grpc_channelz_get_servers(0)), nullptr, false);
  if (!j.is_object() || !j.contains("server") || !j["server"].is_array()) return out;
  for (const auto& server : j["server"]) {
    const int64_t server_id = Int64(server.value("ref", json::object()), "serverId");
    int64_t start = 0;
    bool other_server = false;
    while (!other_server) {
      const json page = json::parse(
          TakeChannelz(grpc_channelz_get_server_sockets(server_id, start, 0)), nullptr, false);
      if (!page.is_object() || !page.contains("socketRef") || page["socketRef"].empty()) break;
      for (const auto& ref : page["socketRef"]) {
        const int64_t id = Int64(ref, "socketId");
        start = std::max(start, id + 1);
        auto s = ParseChannelzSocket(TakeChannelz(grpc_channelz_get_socket(id)));
        if (!s) continue;
        if (s->local_port != port) {
          other_server = true;  // One connection tells whose server it is.
          break;
        }
        out.push_back(*std::move(s));
      }
      if (page.value("end", false)) break;  // proto3's JSON leaves `end: false` out.
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

// Disconnects a TCP socket at once (connect(2) with AF_UNSPEC, Linux's tcp_disconnect): the
// peer gets an RST and the data still queued for reading is dropped. shutdown(2) alone lets gRPC
// read, and work through, every frame already received: a rapid-reset flood's backlog took 100 s.
void Abort(int fd) {
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  connect(fd, &unspec, sizeof unspec);
}

}  // namespace

std::optional<ChannelzSocket> ParseChannelzSocket(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("socket")) return std::nullopt;
  const json& socket = j["socket"];
  if (!socket.contains("remote") || !socket["remote"].contains("tcpip_address")) {
    return std::nullopt;
  }
  const json& remote = socket["remote"]["tcpip_address"];
  std::string bytes;
  if (!remote.contains("ip_address") || !remote["ip_address"].is_string() ||
      !absl::Base64Unescape(remote["ip_address"].get<std::string>(), &bytes)) {
    return std::nullopt;
  }
  ChannelzSocket s;
  s.id = Int64(socket.contains("ref") ? socket["ref"] : json(), "socketId");
  s.peer = AddressText(bytes.data(), bytes.size(), static_cast<int>(Int64(remote, "port")));
  if (s.peer.empty()) return std::nullopt;
  if (socket.contains("local") && socket["local"].contains("tcpip_address")) {
    s.local_port = static_cast<int>(Int64(socket["local"]["tcpip_address"], "port"));
  }
  const json data = socket.contains("data") ? socket["data"] : json::object();
  s.streams_started = Int64(data, "streamsStarted");
  s.streams_succeeded = Int64(data, "streamsSucceeded");
  s.streams_failed = Int64(data, "streamsFailed");
  s.messages_received = Int64(data, "messagesReceived");
  return s;
}

absl::StatusOr<std::unique_ptr<GrpcConnectionGuard>> GrpcConnectionGuard::Make(
    GrpcConnectionGuardOptions options) {
  auto guard = std::unique_ptr<GrpcConnectionGuard>(new GrpcConnectionGuard(options));
  auto hook = GrpcAcceptHook::Make([g = guard.get()](int fd) { g->OnAccept(fd); });
  if (!hook.ok()) return hook.status();
  guard->hook_ = std::move(*hook);
  return guard;
}

GrpcConnectionGuard::~GrpcConnectionGuard() { Stop(); }

void GrpcConnectionGuard::OnAccept(int fd) {
  Connection c{
      .inode = InodeOf(fd), .peer = PeerOfDescriptor(fd), .accepted = absl::Now(), .unfed = {}};
  MutexLock lock(&mu_);
  auto it = connections_.find(fd);
  if (it != connections_.end()) connections_.erase(it);  // A closed one's descriptor, reused.
  closing_.erase(fd);
  // The count includes connections closed since the last sweep: it errs towards refusing.
  const size_t open = connections_.size();
  const bool full =
      options_.max_connections > 0 && static_cast<int>(open) >= options_.max_connections;
  // The oldest connection the last sweep found idle makes way for the new one, while few closed
  // ones still hold their descriptor: a shut-down connection keeps it until gRPC has read the
  // end of file, and in a burst gRPC accepts faster than it closes (evicting one per accept
  // took a 256-descriptor process to EMFILE within 40 ms).
  PruneClosingLocked();
  const bool slack_left = closing_.size() < ClosingSlack();
  while (full && slack_left && !idle_.empty()) {
    const int oldest = idle_.front();
    idle_.pop_front();
    if (!CloseLocked(oldest, /*abort=*/false)) continue;
    ++closed_idle_;
    connections_.emplace(fd, std::move(c));
    return;
  }
  // Nothing to close for it yet (the sweep has not looked at a burst, or closed ones still hold
  // their descriptors): up to the slack over the budget, the connection is let in while the
  // sweep makes room, so a client arriving just after a burst is not turned away.
  if (full && open < static_cast<size_t>(options_.max_connections) + ClosingSlack()) {
    connections_.emplace(fd, std::move(c));
    make_room_ = true;
    wake_.Signal();
    return;
  }
  if (full) {
    shutdown(fd, SHUT_RDWR);  // gRPC reads end-of-file at once and closes it.
    ++refused_;
    // gRPC accepts in a loop until the listen queue is empty, and closes what it refused only
    // afterwards: a burst would take every descriptor within the loop. The rest of the queue is
    // accepted and closed here instead, so gRPC's next accept4() finds it empty (EAGAIN, which it
    // waits out) rather than the process out of descriptors (EMFILE, which ends its listener).
    for (const int listener : listeners_) {
      for (;;) {
        const int extra = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (extra < 0) break;
        close(extra);
        ++refused_;
      }
    }
    make_room_ = true;
    wake_.Signal();
    return;
  }
  connections_.emplace(fd, std::move(c));
}

bool GrpcConnectionGuard::CloseLocked(int fd, bool abort) {
  auto it = connections_.find(fd);
  if (it == connections_.end() || InodeOf(fd) != it->second.inode) return false;
  if (abort) Abort(fd);
  shutdown(fd, SHUT_RDWR);
  closing_.emplace(fd, it->second.inode);
  connections_.erase(it);
  return true;
}

void GrpcConnectionGuard::PruneClosingLocked() {
  for (auto it = closing_.begin(); it != closing_.end();) {
    it = InodeOf(it->first) == it->second ? std::next(it) : closing_.erase(it);
  }
}

size_t GrpcConnectionGuard::ClosingSlack() const {
  return static_cast<size_t>(std::max(4, options_.max_connections / 8));
}

void GrpcConnectionGuard::Start(int port) {
  {
    MutexLock lock(&mu_);
    if (thread_.joinable() || stopping_) return;
    port_ = port;
    listeners_ = ListeningSockets(port);
  }
  server_started_ = GrpcServerCallCounts().first;
  thread_ = std::thread([this] { Run(); });
}

void GrpcConnectionGuard::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

GrpcConnectionStats GrpcConnectionGuard::stats() {
  MutexLock lock(&mu_);
  return {.open = static_cast<int>(connections_.size()),
          .limit = options_.max_connections,
          .refused = refused_,
          .closed_idle = closed_idle_,
          .closed_resets = closed_resets_};
}

void GrpcConnectionGuard::Run() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      const absl::Time next = absl::Now() + options_.interval;
      while (!stopping_ && !make_room_ && !wake_.WaitUntil(&mu_, next)) {
      }
      if (stopping_) return;
    }
    Sweep();
  }
}

void GrpcConnectionGuard::Sweep() {
  const absl::Time now = absl::Now();
  bool make_room = false;
  int port = 0;
  size_t open = 0;
  {
    MutexLock lock(&mu_);
    // Connections gRPC has closed since: their descriptor is gone or holds another socket.
    for (auto it = connections_.begin(); it != connections_.end();) {
      it = InodeOf(it->first) == it->second.inode ? std::next(it) : connections_.erase(it);
    }
    make_room = make_room_ || room_pending_;
    make_room_ = false;
    port = port_;
    open = connections_.size();
  }
  // Per-connection counts cost a channelz call per connection: only when room must be made, or
  // the server started more calls since the last sweep than one connection may reset. (Calls
  // are counted failed only once gRPC has worked through them, which a flood delays.)
  const int64_t started = GrpcServerCallCounts().first;
  const bool resets_suspected =
      options_.max_resets_per_second > 0 &&
      started - server_started_ >
          options_.max_resets_per_second * absl::ToDoubleSeconds(options_.interval);
  server_started_ = started;
  // Near the budget the idle connections are noted (the oldest makes way for a new one); room is
  // made here only for someone, after a connection was refused.
  const bool budget_tight =
      options_.max_connections > 0 &&
      (make_room || open * 10 >= static_cast<size_t>(options_.max_connections) * 9);
  if (!resets_suspected && !budget_tight) return;
  const std::vector<ChannelzSocket> sockets = ServerSockets(port);
  MutexLock lock(&mu_);
  std::map<std::string, int> fd_of;
  for (const auto& [fd, c] : connections_) fd_of[c.peer] = fd;
  for (const ChannelzSocket& s : sockets) {
    auto f = fd_of.find(s.peer);
    if (f == fd_of.end() || options_.max_resets_per_second <= 0) continue;
    auto& history = connections_[f->second].unfed;
    history.emplace_back(now, s.streams_without_message());
    while (history.size() > 1 && now - history.front().first > absl::Seconds(1)) {
      history.pop_front();
    }
    const double span = std::max(absl::ToDoubleSeconds(now - history.front().first), 1.0);
    if ((s.streams_without_message() - history.front().second) / span >
            options_.max_resets_per_second &&
        CloseLocked(f->second, /*abort=*/true)) {
      ++closed_resets_;
    }
  }
  if (!budget_tight) return;
  // Room for a tenth of the budget (at least one), the oldest idle connections first. Idle: no call
  // open, counting a connection channelz has no HTTP/2 socket for yet. Those are handshaking or
  // part of a burst gRPC has not worked through: right after 320 connections on one core it listed
  // none of the 128 accepted, and waiting for them to age left a client that came next refused.
  // Oldest first, so a client that has just connected goes last.
  std::map<std::string, const ChannelzSocket*> socket_of;
  for (const ChannelzSocket& s : sockets) socket_of[s.peer] = &s;
  std::vector<std::pair<absl::Time, int>> idle;  // (accepted, fd)
  for (const auto& [fd, c] : connections_) {
    auto s = socket_of.find(c.peer);
    if (s == socket_of.end() || s->second->open_streams() == 0) {
      idle.emplace_back(c.accepted, fd);
    }
  }
  std::sort(idle.begin(), idle.end());
  idle_.clear();
  for (const auto& [accepted, fd] : idle) idle_.push_back(fd);
  if (!make_room) return;
  const size_t keep =
      static_cast<size_t>(options_.max_connections - std::max(1, options_.max_connections / 10));
  PruneClosingLocked();
  while (connections_.size() > keep && !idle_.empty() && closing_.size() < ClosingSlack()) {
    const int oldest = idle_.front();
    idle_.pop_front();
    if (CloseLocked(oldest, /*abort=*/false)) ++closed_idle_;
  }
  // Stopped by the slack: the next sweep goes on once gRPC has closed some.
  room_pending_ = connections_.size() > keep && !idle_.empty();
}

}  // namespace trm::server
