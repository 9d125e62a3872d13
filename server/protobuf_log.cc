#include "server/protobuf_log.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/log.h"

namespace trm::server {
namespace {

Mutex router_mu;
ProtobufLogRouter* router ABSL_GUARDED_BY(router_mu) = nullptr;

const char* LevelName(google::protobuf::LogLevel level) {
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      return "info";
    case google::protobuf::LOGLEVEL_WARNING:
      return "warning";
    case google::protobuf::LOGLEVEL_ERROR:
      return "error";
    case google::protobuf::LOGLEVEL_FATAL:
      return "fatal";
  }
  return "error";
}

void RouteLine(google::protobuf::LogLevel level, const char* /*filename*/, int /*line*/,
               const std::string& message) {
  MutexLock lock(&router_mu);
  if (router != nullptr) router->Handle(LevelName(level), message, absl::Now());
}

}  // namespace

ProtobufLogRouter::ProtobufLogRouter(Metrics* metrics, absl::Duration interval)
    : metrics_(metrics), interval_(interval) {
  MutexLock lock(&router_mu);
  router = this;
  previous_handler_ = google::protobuf::SetLogHandler(&RouteLine);
}

ProtobufLogRouter::~ProtobufLogRouter() {
  MutexLock lock(&router_mu);
  if (router == this) {
    router = nullptr;
    // Usually protobuf's default (stderr); nullptr would silence protobuf instead.
    google::protobuf::SetLogHandler(previous_handler_);
  }
}

void ProtobufLogRouter::Handle(const std::string& level, const std::string& message,
                               absl::Time now) {
  metrics_->RecordProtobufLog();
  uint64_t held_back = 0;
  {
    MutexLock lock(&mu_);
    if (now < next_write_ && level != "fatal") {
      ++held_back_;
      return;
    }
    next_write_ = now + interval_;
    held_back = held_back_;
    held_back_ = 0;
  }
  // protobuf's messages name the field and the type, never the field's contents.
  Log(level == "info"      ? LogLevel::kInfo
      : level == "warning" ? LogLevel::kWarning
                           : LogLevel::kError,
      absl::StrCat("protobuf: ", message,
                   held_back == 0 ? ""
                                  : absl::StrCat(" (", held_back,
                                                 " more protobuf log lines since the last one; "
                                                 "all counted in trm_protobuf_log_messages_total)"),
                   " [at most one protobuf line per ", absl::FormatDuration(interval_), "]"));
}

}  // namespace trm::server
