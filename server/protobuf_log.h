// Routes the protobuf library's log lines to a counter, and to the server log at most once per
// interval.
//
// protobuf logs an ERROR line to stderr for each message it refuses to parse for invalid UTF-8
// in a string field ("String field 'trm.v1.SolveRequest.request_id' contains invalid UTF-8 data
// ..."): any client could write a line to the server log per request (2,000 requests: 442 KB in
// 0.3 s, issue 22), against the server's no-per-request-log rule. Each line is counted in
// trm_protobuf_log_messages_total; the first is written, and later ones at most once per
// interval with the number held back in between (a fatal line is always written).
//
// protobuf's handler is process-wide (google::protobuf::SetLogHandler): one router at a time;
// it installs itself on construction and puts protobuf's default back on destruction.
#pragma once

#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "base/sync.h"
#include "server/metrics.h"

namespace trm::server {

class ProtobufLogRouter {
 public:
  // `metrics` must outlive the router.
  ProtobufLogRouter(Metrics* metrics, absl::Duration interval);
  ~ProtobufLogRouter();
  ProtobufLogRouter(const ProtobufLogRouter&) = delete;
  ProtobufLogRouter& operator=(const ProtobufLogRouter&) = delete;

  // One protobuf log line; `level` is info, warning, error or fatal. Public for tests.
  void Handle(const std::string& level, const std::string& message, absl::Time now);

 private:
  Metrics* metrics_;
  const absl::Duration interval_;
  google::protobuf::LogHandler* previous_handler_;  // Put back on destruction.
  Mutex mu_;
  absl::Time next_write_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t held_back_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace trm::server
