// One-line log messages on stderr ("2026-11-29T03:30:00.123Z I message"). absl 20220623 has no
// absl/log, and the server logs little: startup, reloads, shutdown.
#pragma once

#include <string_view>

namespace trm::server {

enum class LogLevel { kInfo, kWarning, kError };
// Thread-safe: the line is written with one write(2).
void Log(LogLevel level, std::string_view message);

}  // namespace trm::server
