// Helpers for the reliability tests: requests, metrics and the server's resident memory, on top
// of tests/e2e_util.h (real trm-server processes on loopback with tiny random-init checkpoints).
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tests/e2e_grpc.h"
#include "tests/e2e_util.h"
#include "trm/v1/solver.grpc.pb.h"

namespace trm::reliability {

inline constexpr char kSudoku[] =
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";
inline constexpr char kArcTask[] = "00576224";
inline constexpr char kAdminToken[] = "reliability-admin-token";

using e2e::Channel;
using e2e::SetDeadline;
using e2e::Solve;

trm::v1::SolveRequest Sudoku(const std::string& request_id = "");
// Runs exactly `steps` ACT steps (ignore_halting), so it holds a batch slot for a while.
trm::v1::SolveRequest Long(int steps, const std::string& request_id = "");

// VmRSS of `pid` in KiB (from /proc/PID/status); -1 when unreadable.
long RssKib(pid_t pid);

using e2e::MetricSum;
// Sum of the series starting with `prefix` whose line also contains `part` (a label).
double MetricSumWith(const std::string& text, const std::string& prefix, const std::string& part);
// Polls /metrics until the series sum equals `want`; false after `timeout`.
bool WaitMetric(int metrics_port, const std::string& prefix, double want,
                absl::Duration timeout = absl::Seconds(20));

// Polls `done` every 20 ms until it holds (true) or `timeout` passes (false).
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout);
// grpc.health.v1 Check for "" on a connection of its own (not shared with other channels, so a
// server that no longer accepts connections fails it). OK with any serving status. With
// `wait_for_ready` a connection the server closes is tried again (the channel's reconnect
// backoff) until the deadline, as a client that sets it does; a listener that accepts nothing
// still fails it.
grpc::Status FreshHealthCheck(int port, absl::Duration timeout, bool wait_for_ready = false);
// The same check's answer: true for SERVING, false for any other status; nullopt when the call
// failed.
std::optional<bool> FreshHealthServing(int port, absl::Duration timeout);
// Waits until the VmRSS of `pid` is below `kib` (memory given back after a burst); false after
// `timeout`. `last` gets the last reading.
bool WaitRssBelow(pid_t pid, long kib, absl::Duration timeout, long* last);
// Expects the VmRSS of `pid` to come back below `before_kib` + `slack_kib` within 30 s (memory
// a burst took, given back); `after` gets the last reading.
void ExpectRssBackWithin(pid_t pid, long before_kib, long slack_kib, long* after);
// The process's open descriptors (entries of /proc/PID/fd); -1 when unreadable.
int OpenFds(pid_t pid);

// Checkpoints made once per test binary: sudoku (halt_max_steps 8), sudoku_v2 (another seed),
// maze (9x9), tokens (seq_len 16, vocab 8), arc (knows task kArcTask), each in its own directory
// under `root`.
struct Checkpoints {
  std::string root;
  std::string dir;  // Holds sudoku, maze, tokens: the server's --checkpoints.
  std::string sudoku, sudoku_v2, maze, tokens, arc;
  bool ok = false;
};
const Checkpoints& SharedCheckpoints();

// A server on the shared checkpoints with `flags` added; its log lives in a fresh temp dir.
// `wrapper` as for e2e::ServerProcess.
struct Server {
  explicit Server(std::vector<std::string> flags, std::vector<std::string> wrapper = {});
  std::unique_ptr<e2e::TempDir> dir;
  std::unique_ptr<e2e::ServerProcess> process;
  std::string Metrics() const;
};

}  // namespace trm::reliability
