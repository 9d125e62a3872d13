// Helpers for end-to-end tests: child processes (trm-server, prometheus, trm-client, python),
// loopback HTTP GET, and a trm-server started on loopback with ports read from its log.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace trm::e2e {

// A child process whose stdout+stderr go to `log_path`. Killed (SIGKILL) if still running when
// destroyed.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // The exit code (128 + signal when killed by one); nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);
  bool running();
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

struct RunResult {
  int exit_code = -1;  // -1 on timeout (the process is killed).
  std::string output;  // stdout and stderr interleaved.
};
RunResult RunCommand(const std::vector<std::string>& argv, absl::Duration timeout);

// A TCP connection to 127.0.0.1:port (the descriptor), or -1; from the loopback address `source`
// (127.0.0.3, say: one client among many, for per-address limits) when it is given.
int ConnectLoopback(int port, const std::string& source = "");
// GET http://127.0.0.1:port/path; the body, or nullopt when the connection fails.
std::optional<std::string> HttpGet(int port, const std::string& path);
// Sum of every series in Prometheus text whose line starts with `prefix`.
double MetricSum(const std::string& text, const std::string& prefix);
// A port that was free a moment ago (bound to 127.0.0.1:0 and released).
int FreePort();
// Established TCP connections (IPv4 and IPv6) whose remote port is `port`, as the kernel lists
// them (/proc/net/tcp, /proc/net/tcp6): the client ends of the connections to a server on this
// machine listening there. Tells channels that share a connection from ones that do not.
int ConnectionsTo(int port);
std::string ReadFileOrEmpty(const std::string& path);

// A unique temporary directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// TRM_SERVER_BIN, TRM_CLIENT_BIN, TRM_INIT_CHECKPOINT, TRM_SOURCE_DIR: from
// the environment when set, else the build's paths.
std::string Env(const char* name);

// A tiny random-init checkpoint (hidden 32, 2 heads, 1x1 cycles, 2 layers) in dir/name.
// `extra` adds flags (--task, --maze_side, ...).
std::string MakeCheckpoint(const std::string& dir, const std::string& name,
                           const std::vector<std::string>& extra);

// trm-server on 127.0.0.1 with port 0 for gRPC, HTTP and metrics (flags later in `flags` win);
// the constructor waits for "SERVING".
// `wrapper` runs it (e.g. {"/usr/bin/prlimit", "--nofile=256:256", "--"}: an absolute path, and
// a program that execs the server, so that the pid stays the server's).
class ServerProcess {
 public:
  ServerProcess(const std::string& log_path, std::vector<std::string> flags,
                std::vector<std::string> wrapper = {});
  ~ServerProcess();
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  int http_port() const { return http_port_; }  // 0 when the flags disable HTTP.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Child& child() { return *child_; }
  // SIGTERM and wait; the exit code or nullopt.
  std::optional<int> Stop(absl::Duration timeout = absl::Seconds(30));

 private:
  std::unique_ptr<Child> child_;
  int port_ = 0;
  int metrics_port_ = 0;
  int http_port_ = 0;
};

}  // namespace trm::e2e
