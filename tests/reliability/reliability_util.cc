#include "tests/reliability/reliability_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace trm::reliability {

trm::v1::SolveRequest Sudoku(const std::string& request_id) {
  trm::v1::SolveRequest r;
  r.set_sudoku(kSudoku);
  r.set_request_id(request_id);
  return r;
}

trm::v1::SolveRequest Long(int steps, const std::string& request_id) {
  trm::v1::SolveRequest r = Sudoku(request_id);
  r.mutable_options()->set_ignore_halting(true);
  r.mutable_options()->set_max_steps(steps);
  return r;
}

long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      long kib = -1;
      fields >> kib;
      return kib;
    }
  }
  return -1;
}

double MetricSumWith(const std::string& text, const std::string& prefix, const std::string& part) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0 || line.find(part) == std::string::npos) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) sum += v;
  }
  return sum;
}

bool WaitMetric(int metrics_port, const std::string& prefix, double want, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    auto text = e2e::HttpGet(metrics_port, "/metrics");
    if (text && MetricSum(*text, prefix) == want) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

namespace {

grpc::Status CheckOnFreshConnection(int port, absl::Duration timeout,
                                    grpc::health::v1::HealthCheckResponse* response,
                                    bool wait_for_ready = false) {
  auto channel = e2e::NewConnection(absl::StrCat("127.0.0.1:", port));
  grpc::ClientContext c;
  SetDeadline(&c, timeout);
  c.set_wait_for_ready(wait_for_ready);
  return grpc::health::v1::Health::NewStub(channel)->Check(
      &c, grpc::health::v1::HealthCheckRequest(), response);
}

}  // namespace

grpc::Status FreshHealthCheck(int port, absl::Duration timeout, bool wait_for_ready) {
  grpc::health::v1::HealthCheckResponse response;
  return CheckOnFreshConnection(port, timeout, &response, wait_for_ready);
}

std::optional<bool> FreshHealthServing(int port, absl::Duration timeout) {
  grpc::health::v1::HealthCheckResponse response;
  if (!CheckOnFreshConnection(port, timeout, &response).ok()) return std::nullopt;
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

bool WaitRssBelow(pid_t pid, long kib, absl::Duration timeout, long* last) {
  return WaitUntil(
      [&] {
        *last = RssKib(pid);
        return *last < kib;
      },
      timeout);
}

void ExpectRssBackWithin(pid_t pid, long before_kib, long slack_kib, long* after) {
  EXPECT_TRUE(WaitRssBelow(pid, before_kib + slack_kib, absl::Seconds(30), after))
      << "RSS " << before_kib << " -> " << *after << " KiB";
}

int OpenFds(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

const Checkpoints& SharedCheckpoints() {
  // Made once per process and kept for its lifetime (the TempDir is intentionally leaked until
  // exit: every test of the binary reuses it).
  static const Checkpoints* made = [] {
    static e2e::TempDir root;
    auto* c = new Checkpoints();
    c->root = root.path();
    c->dir = root.path() + "/checkpoints";
    std::filesystem::create_directories(c->dir);
    std::filesystem::create_directories(root.path() + "/other");
    c->sudoku = e2e::MakeCheckpoint(c->dir, "sudoku", {"--task=sudoku", "--halt_max_steps=8"});
    c->maze =
        e2e::MakeCheckpoint(c->dir, "maze", {"--task=maze", "--maze_side=9", "--halt_max_steps=4"});
    c->tokens = e2e::MakeCheckpoint(
        c->dir, "tokens", {"--task=tokens", "--seq_len=16", "--vocab=8", "--halt_max_steps=4"});
    const std::string ids = root.path() + "/identifiers.json";
    std::ofstream(ids) << R"(["<blank>", ")" << kArcTask << R"(", ")" << kArcTask
                       << R"(|||t1|||0123456789"])";
    c->arc = e2e::MakeCheckpoint(
        c->dir, "arc", {"--task=arc", "--halt_max_steps=2", "--puzzle_identifiers=" + ids});
    c->sudoku_v2 = e2e::MakeCheckpoint(root.path() + "/other", "sudoku_v2",
                                       {"--task=sudoku", "--halt_max_steps=8", "--seed=2"});
    c->ok = !c->sudoku.empty() && !c->maze.empty() && !c->tokens.empty() && !c->arc.empty() &&
            !c->sudoku_v2.empty();
    return c;
  }();
  return *made;
}

Server::Server(std::vector<std::string> flags, std::vector<std::string> wrapper)
    : dir(std::make_unique<e2e::TempDir>()) {
  flags.insert(flags.begin(), "--checkpoints=" + SharedCheckpoints().dir);
  process = std::make_unique<e2e::ServerProcess>(dir->path() + "/server.log", std::move(flags),
                                                 std::move(wrapper));
}

std::string Server::Metrics() const {
  return e2e::HttpGet(process->metrics_port(), "/metrics").value_or("");
}

}  // namespace trm::reliability
