// Liveness of the gRPC port from the inside: every `interval` a probe opens a fresh connection
// to the server's own port and expects an answer; after `failures` probes in a row have failed,
// `on_failure` is called once (trm-server then drains and exits non-zero, so compose's restart
// policy, Docker's HEALTHCHECK and Kubernetes' liveness probe all get a process that recovers).
//
// Why: gRPC before 1.53.2 (Debian 12 ships 1.51.1) stops accepting on a listening socket for good
// after one accept4() fails with EMFILE (CVE-2023-4785): a burst of connections past the
// open-file limit leaves a process whose existing connections and /metrics still work but that
// never takes another connection (issue 22). Nothing inside gRPC can be told to re-arm the
// listener, so the process has to be replaced. The bound from the listener's death to on_failure
// is (failures + 1) x interval: up to one interval until the next probe starts, then `failures`
// probes of at most an interval each.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/periodic_thread.h"

namespace trm::server {

struct WatchdogOptions {
  absl::Duration interval = absl::Seconds(5);  // Also each probe's timeout.
  int failures = 3;                            // Probes in a row that must fail.
  std::string name = "watchdog";               // Opens its log lines.
};

class Watchdog {
 public:
  // Answers within `timeout` or fails with the reason; gives up soon (tens of milliseconds) after
  // `stopping` turns true, so that Stop, and with it the server's drain, never waits a probe out.
  using Probe =
      std::function<absl::Status(absl::Duration timeout, const std::atomic<bool>& stopping)>;
  // Starts probing at once; `on_failure` gets the last probe's failure, on the watchdog's thread.
  // Without `on_recovery` that ends the probing; with it, probing goes on, and the first probe
  // that passes after a failure calls `on_recovery` (a readiness check rather than a liveness
  // one: the next `failures` in a row call on_failure again).
  Watchdog(WatchdogOptions options, Probe probe,
           std::function<void(const absl::Status&)> on_failure,
           std::function<void()> on_recovery = nullptr);
  // Stops; a probe under way gives up. Idempotent.
  void Stop();
  ~Watchdog() { Stop(); }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  // One probe and what follows from it, on the thread; false ends the probing.
  bool ProbeOnce(const std::atomic<bool>& stopping);

  const WatchdogOptions options_;
  Probe probe_;
  std::function<void(const absl::Status&)> on_failure_;
  std::function<void()> on_recovery_;
  int failed_ = 0;         // Probes failed in a row (the thread's).
  bool down_ = false;      // on_failure_ was called and no probe has passed since (the thread's).
  PeriodicThread thread_;  // Last: probes once the rest is set.
};

// The address the server's own probes connect to for `listen` (HOST:PORT as given to
// --listen) bound on `port`: a wildcard host becomes loopback ("0.0.0.0" -> "127.0.0.1",
// "[::]" -> "[::1]"). Host and port apart.
struct ProbeAddress {
  std::string host;  // As in a gRPC target: "127.0.0.1", "[::1]", "localhost".
  int port = 0;
  std::string target() const { return host + ":" + std::to_string(port); }
};
ProbeAddress ProbeAddressFor(const std::string& listen, int port);

// The probe trm-server uses on a plaintext port: grpc.health.v1.Health/Check for "" over a new
// channel with its own subchannel pool, so each probe is a new TCP connection that the server has
// to accept and answer (any serving status is an answer). `target` is HOST:PORT.
absl::Status ProbeHealthOnFreshConnection(const std::string& target, absl::Duration timeout,
                                          const std::atomic<bool>& stopping);

// Whether the listener on `port` accepts: a new TCP connection to host:port must turn up among
// this process's own descriptors (the server side of it, accepted) within `timeout`. A dead
// listener (gRPC 1.51 after EMFILE) leaves it in the kernel's listen queue; a listener that is
// only busy (a flood of reset streams to work through) accepts it in milliseconds, however slowly
// it then answers. It needs no handshake, so it serves TLS ports too, and must run in the
// server's own process.
absl::Status ProbeAcceptedByThisProcess(const std::string& host, int port, absl::Duration timeout,
                                        const std::atomic<bool>& stopping);

// trm-server's liveness probe of its gRPC port: a health check on a new connection
// (ProbeHealthOnFreshConnection; plaintext only) and, when that fails, whether the port still
// accepts (ProbeAcceptedByThisProcess). A port that accepts but does not answer in time is a
// server under load, not a dead listener: only `patience` such probes in a row count as a
// failure (restarting is the last resort, not the answer to a flood). A port that accepts
// nothing fails at once. Thread-compatible: one watchdog calls it.
class LivenessProbe {
 public:
  LivenessProbe(ProbeAddress address, bool health_check, int patience)
      : address_(std::move(address)), health_check_(health_check), patience_(patience) {}
  absl::Status operator()(absl::Duration timeout, const std::atomic<bool>& stopping);
  int64_t slow() const { return slow_total_; }  // Probes that found the port busy, not dead.

 private:
  const ProbeAddress address_;
  const bool health_check_;
  const int patience_;
  int slow_in_a_row_ = 0;
  std::atomic<int64_t> slow_total_{0};
};

// The probe of an HTTP port (trm-server's JSON API): GET `path` on a new TCP connection must be
// answered 200 within `timeout`.
absl::Status ProbeHttpOnFreshConnection(const std::string& host, int port, const std::string& path,
                                        absl::Duration timeout, const std::atomic<bool>& stopping);

}  // namespace trm::server
