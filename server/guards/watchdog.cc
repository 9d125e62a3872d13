#include "server/guards/watchdog.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "base/sync.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "server/guards/process_sockets.h"
#include "server/log.h"

namespace trm::server {

Watchdog::Watchdog(WatchdogOptions options, Probe probe,
                   std::function<void(const absl::Status&)> on_failure,
                   std::function<void()> on_recovery)
    : options_(options),
      probe_(std::move(probe)),
      on_failure_(std::move(on_failure)),
      on_recovery_(std::move(on_recovery)),
      thread_(
          options_.interval,
          [this](const std::atomic<bool>& stopping) { return ProbeOnce(stopping); },
          PeriodicThread::FirstTick::kAtOnce) {}

void Watchdog::Stop() { thread_.Stop(); }

bool Watchdog::ProbeOnce(const std::atomic<bool>& stopping) {
  absl::Status status = probe_(options_.interval, stopping);
  if (stopping.load()) return false;
  failed_ = status.ok() ? 0 : failed_ + 1;
  if (!down_ && failed_ >= options_.failures) {
    on_failure_(status);
    if (!on_recovery_) return false;
    down_ = true;
  } else if (down_ && status.ok()) {
    down_ = false;
    on_recovery_();
  } else if (!status.ok() && !down_) {
    Log(LogLevel::kWarning, absl::StrCat(options_.name, ": probe ", failed_, " of ",
                                         options_.failures, " failed: ", status.message()));
  }
  return true;
}

namespace {

// Waits until `done` or the end, in slices short enough to notice `stopping` soon.
template <typename Done>
void WaitUntil(Done done, absl::Time end, const std::atomic<bool>& stopping) {
  while (!done() && !stopping.load() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
}

}  // namespace

absl::Status ProbeHealthOnFreshConnection(const std::string& target, absl::Duration timeout,
                                          const std::atomic<bool>& stopping) {
  grpc::ChannelArguments args;
  // Channels share subchannels (and so connections) process-wide by default: with its own pool
  // this channel dials anew, as a new client would.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  auto stub = grpc::health::v1::Health::NewStub(channel);
  // The call's outcome, set by its callback on a gRPC thread.
  struct Outcome {
    Mutex mu;
    CondVar cv;
    bool done ABSL_GUARDED_BY(mu) = false;
    grpc::Status status ABSL_GUARDED_BY(mu);
  } outcome;
  stub->async()->Check(&context, &request, &response, [&outcome](grpc::Status status) {
    MutexLock lock(&outcome.mu);
    outcome.status = std::move(status);
    outcome.done = true;
    outcome.cv.SignalAll();
  });
  WaitUntil(
      [&outcome] {
        MutexLock lock(&outcome.mu);
        return outcome.done;
      },
      absl::InfiniteFuture(), stopping);
  context.TryCancel();  // A no-op when the call has ended; else it ends it at once.
  grpc::Status s;
  {
    MutexLock lock(&outcome.mu);
    while (!outcome.done) outcome.cv.Wait(&outcome.mu);
    s = outcome.status;
  }
  if (s.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("health check on a new connection to ", target,
                                             " failed: ", s.error_code(), " ", s.error_message()));
}

namespace {

// A non-blocking TCP socket with a connect(2) to host:port under way (or done), or why not.
absl::StatusOr<int> StartConnect(const std::string& host, int port) {
  std::string name = host;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  const std::string where = absl::StrCat(host, ":", port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int e = getaddrinfo(name.c_str(), std::to_string(port).c_str(), &hints, &found); e != 0) {
    return absl::UnavailableError(absl::StrCat(where, ": ", gai_strerror(e)));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return absl::UnavailableError(absl::StrCat(where, ": socket: ", strerror(errno)));
  }
  const int c = connect(fd, found->ai_addr, found->ai_addrlen);
  const int error = errno;
  freeaddrinfo(found);
  if (c != 0 && error != EINPROGRESS) {
    close(fd);
    return absl::UnavailableError(absl::StrCat(where, ": connect: ", strerror(error)));
  }
  return fd;
}

// Connects to host:port on a new TCP connection, sends `request` and returns the first bytes of
// the answer (empty when the server closes or resets the connection instead): an error when it
// cannot connect or nothing comes within `timeout`.
absl::StatusOr<std::string> ExchangeOnFreshConnection(const std::string& host, int port,
                                                      absl::string_view request,
                                                      absl::Duration timeout,
                                                      const std::atomic<bool>& stopping) {
  const std::string where = absl::StrCat(host, ":", port);
  const absl::Time end = absl::Now() + timeout;
  absl::StatusOr<int> connecting = StartConnect(host, port);
  if (!connecting.ok()) return connecting.status();
  const int fd = *connecting;
  auto wait = [&](short events) {
    bool ready = false;
    WaitUntil(
        [&] {
          pollfd p{.fd = fd, .events = events, .revents = 0};
          return ready = poll(&p, 1, 0) == 1;
        },
        end, stopping);
    return ready;
  };
  absl::StatusOr<std::string> result;
  int error = 0;
  socklen_t len = sizeof error;
  if (!wait(POLLOUT) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    result = absl::UnavailableError(
        absl::StrCat(where, ": connect: ", error ? strerror(error) : "timed out"));
  } else if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
             static_cast<ssize_t>(request.size())) {
    result = absl::UnavailableError(absl::StrCat(where, ": send: ", strerror(errno)));
  } else if (!wait(POLLIN)) {
    result = absl::UnavailableError(
        absl::StrCat(where, ": connected, but no answer in ", absl::FormatDuration(timeout)));
  } else {
    char reply[256];
    const ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0 && errno != ECONNRESET) {
      result = absl::UnavailableError(absl::StrCat(where, ": recv: ", strerror(errno)));
    } else {
      result = std::string(reply, n > 0 ? n : 0);
    }
  }
  close(fd);
  return result;
}

}  // namespace

absl::Status ProbeAcceptedByThisProcess(const std::string& host, int port, absl::Duration timeout,
                                        const std::atomic<bool>& stopping) {
  const absl::Time end = absl::Now() + timeout;
  absl::StatusOr<int> connecting = StartConnect(host, port);
  if (!connecting.ok()) return connecting.status();
  const int fd = *connecting;
  // The server's side of this connection has our address as its peer.
  const std::string us = LocalAddressOf(fd);
  bool accepted = false;
  WaitUntil([&] { return accepted = !us.empty() && FindConnection(port, us) >= 0; }, end, stopping);
  close(fd);
  if (accepted) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat(host, ":", port, ": a new connection was not accepted in ",
                   absl::FormatDuration(timeout), " (the listener accepts no connections)"));
}

absl::Status LivenessProbe::operator()(absl::Duration timeout, const std::atomic<bool>& stopping) {
  absl::Status health = absl::UnavailableError("no health check on this port");
  if (health_check_) {
    health = ProbeHealthOnFreshConnection(address_.target(), timeout, stopping);
    if (health.ok()) {
      slow_in_a_row_ = 0;
      return health;
    }
  }
  absl::Status accept = ProbeAcceptedByThisProcess(address_.host, address_.port, timeout, stopping);
  if (!accept.ok() || !health_check_) return accept;
  ++slow_total_;
  if (++slow_in_a_row_ >= patience_) {
    return absl::UnavailableError(absl::StrCat(
        "the port accepts, but ", slow_in_a_row_,
        " health checks in a row got no answer in time (last: ", health.message(), ")"));
  }
  Log(LogLevel::kWarning,
      absl::StrCat("watchdog: the gRPC port accepts but answered no health check within ",
                   absl::FormatDuration(timeout), " (", slow_in_a_row_, " of ", patience_,
                   " allowed in a row): busy, not dead; not restarting"));
  return absl::OkStatus();
}

absl::Status ProbeHttpOnFreshConnection(const std::string& host, int port, const std::string& path,
                                        absl::Duration timeout, const std::atomic<bool>& stopping) {
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, ":", port,
                   "\r\nUser-Agent: trm-server-probe\r\nConnection: close\r\n\r\n");
  auto reply = ExchangeOnFreshConnection(host, port, request, timeout, stopping);
  if (!reply.ok()) return reply.status();
  const std::string line = reply->substr(0, reply->find('\r'));
  if (absl::StartsWith(line, "HTTP/1.1 200") || absl::StartsWith(line, "HTTP/1.0 200")) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "GET ", path, " on a new connection to ", host, ":", port, " answered ",
      line.empty() ? std::string("nothing (the connection closed)") : absl::CEscape(line)));
}

ProbeAddress ProbeAddressFor(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "*") host = "127.0.0.1";
  if (host == "[::]" || host == "[::0]" || host == "::") host = "[::1]";
  return {host, port};
}

}  // namespace trm::server
