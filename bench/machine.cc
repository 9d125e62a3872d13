#include "bench/machine.h"

#include <unistd.h>

#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace trm::bench {

MachineInfo DescribeMachine() {
  MachineInfo m;
  m.cores = static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (absl::StartsWith(line, "model name")) {
      auto pos = line.find(':');
      if (pos != std::string::npos)
        m.cpu = std::string(absl::StripLeadingAsciiWhitespace(line.substr(pos + 1)));
      break;
    }
  }
  std::ifstream loadavg("/proc/loadavg");
  loadavg >> m.load_1m;
  if (!loadavg) m.load_1m = -1;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) m.hostname = host;
  return m;
}

std::string CommandLine(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return absl::StrJoin(args, " ");
}

}  // namespace trm::bench
