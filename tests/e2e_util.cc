#include "tests/e2e_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <regex>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace trm::e2e {

namespace {
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    // Children must not inherit a blocked signal mask from gRPC threads.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}
}  // namespace

Child::Child(const std::vector<std::string>& argv, const std::string& log_path)
    : pid_(Spawn(argv, log_path)), log_path_(log_path) {}

Child::~Child() {
  if (!exit_code_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait(absl::Seconds(10));
  }
}

void Child::Signal(int sig) {
  if (!exit_code_ && pid_ > 0) kill(pid_, sig);
}

std::optional<int> Child::Wait(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!exit_code_) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (r < 0 || absl::Now() > end) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return exit_code_;
}

bool Child::running() { return !Wait(absl::ZeroDuration()).has_value(); }

std::string Child::Log() const { return ReadFileOrEmpty(log_path_); }

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult RunCommand(const std::vector<std::string>& argv, absl::Duration timeout) {
  static std::atomic<int> counter{0};
  const std::string log = absl::StrCat(std::filesystem::temp_directory_path().string(),
                                       "/trm_e2e_run_", getpid(), "_", counter++, ".log");
  RunResult result;
  {
    Child child(argv, log);
    auto code = child.Wait(timeout);
    result.exit_code = code ? *code : -1;
  }
  result.output = ReadFileOrEmpty(log);
  std::filesystem::remove(log);
  return result;
}

int ConnectLoopback(int port, const std::string& source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::optional<std::string> HttpGet(int port, const std::string& path) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return std::nullopt;
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string response;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  return response.substr(body + 4);
}

double MetricSum(const std::string& text, const std::string& prefix) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) sum += v;
  }
  return sum;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

int ConnectionsTo(int port) {
  int n = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(ReadFileOrEmpty(table));
    std::string line;
    std::getline(in, line);  // Header.
    // Fields: sl local_address rem_address st ...; addresses are HEXIP:HEXPORT, st 01 is
    // ESTABLISHED.
    for (std::string sl, local, remote, state; in >> sl >> local >> remote >> state;) {
      std::getline(in, line);  // The rest of the row.
      const size_t colon = remote.rfind(':');
      if (state == "01" && colon != std::string::npos &&
          std::stoi(remote.substr(colon + 1), nullptr, 16) == port) {
        ++n;
      }
    }
  }
  return n;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = absl::StrCat(std::filesystem::temp_directory_path().string(), "/trm_e2e_", getpid(), "_",
                       rd());
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string Env(const char* name) {
  if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  const std::map<std::string, std::string> built = {{"TRM_SERVER_BIN", TRM_SERVER_BIN},
                                                    {"TRM_CLIENT_BIN", TRM_CLIENT_BIN},
                                                    {"TRM_INIT_CHECKPOINT", TRM_INIT_CHECKPOINT},
                                                    {"TRM_SOURCE_DIR", TRM_SOURCE_DIR}};
  auto it = built.find(name);
  return it == built.end() ? "" : it->second;
}

std::string MakeCheckpoint(const std::string& dir, const std::string& name,
                           const std::vector<std::string>& extra) {
  const std::string out = dir + "/" + name;
  std::vector<std::string> argv = {Env("TRM_INIT_CHECKPOINT"),
                                   "--hidden=32",
                                   "--heads=2",
                                   "--h_cycles=1",
                                   "--l_cycles=1",
                                   "--layers=2",
                                   "--seed=1",
                                   "--out=" + out};
  argv.insert(argv.end(), extra.begin(), extra.end());
  RunResult r = RunCommand(argv, absl::Seconds(60));
  if (r.exit_code != 0) return "";
  return out;
}

ServerProcess::ServerProcess(const std::string& log_path, std::vector<std::string> flags,
                             std::vector<std::string> wrapper) {
  std::vector<std::string> argv = std::move(wrapper);
  argv.insert(argv.end(),
              {Env("TRM_SERVER_BIN"), "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
               "--http_listen=127.0.0.1:0", "--device=cpu", "--threads=1"});
  argv.insert(argv.end(), flags.begin(), flags.end());
  child_ = std::make_unique<Child>(argv, log_path);
  const std::regex listening(R"(listening on [0-9.]+:(\d+))");
  const std::regex metrics(R"(metrics on http://[0-9.]+:(\d+)/metrics)");
  const std::regex http(R"(http on http://[0-9.]+:(\d+)/)");
  const absl::Time end = absl::Now() + absl::Seconds(60);
  while (absl::Now() < end && child_->running()) {
    const std::string log = child_->Log();
    if (log.find(" SERVING") != std::string::npos) {
      std::smatch m;
      if (std::regex_search(log, m, listening)) port_ = std::stoi(m[1]);
      if (std::regex_search(log, m, metrics)) metrics_port_ = std::stoi(m[1]);
      if (std::regex_search(log, m, http)) http_port_ = std::stoi(m[1]);
      return;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

ServerProcess::~ServerProcess() { Stop(absl::Seconds(10)); }

std::optional<int> ServerProcess::Stop(absl::Duration timeout) {
  child_->Signal(SIGTERM);
  return child_->Wait(timeout);
}

}  // namespace trm::e2e
