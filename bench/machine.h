// The machine a figure was measured on, for every benchmark's header: CPU model, cores, torch
// threads, load average, device. Plain C++ apart from the torch thread count passed in.
#pragma once

#include <string>

namespace trm::bench {

struct MachineInfo {
  std::string cpu;      // /proc/cpuinfo "model name".
  int cores = 0;        // std::thread::hardware_concurrency().
  double load_1m = -1;  // /proc/loadavg, -1 when unknown.
  std::string hostname;
};
MachineInfo DescribeMachine();

// "trm-bench --flag=... " from argv, for the header line.
std::string CommandLine(int argc, char** argv);

}  // namespace trm::bench
