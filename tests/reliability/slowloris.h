// A slow-header flood (slowhttptest -H): `n` connections to 127.0.0.1:port, each with a request
// line and a header begun and then a byte a second, never finished. A connection the server
// closes is opened again at once, as attack tools do. One thread, non-blocking sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace trm::reliability {

class Slowloris {
 public:
  // `source`: the local address to connect from (another loopback address, 127.0.0.2 say, tells
  // the flood from well-behaved clients for per-address limits); empty: any.
  Slowloris(int port, int n, std::string source = "");
  ~Slowloris();
  Slowloris(const Slowloris&) = delete;
  Slowloris& operator=(const Slowloris&) = delete;
  int64_t reopened() const { return reopened_; }

 private:
  int Open();
  void Run();

  const int port_;
  const std::string source_;
  std::vector<int> fds_;  // The thread's own.
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> reopened_{0};
  std::thread thread_;
};

}  // namespace trm::reliability
