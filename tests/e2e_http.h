// HTTP/1.1 on raw loopback sockets for the end-to-end and reliability tests: whole requests, a
// server-sent-event reader, and connections that misbehave on purpose (silent, trickling, gone).
// Raw sockets because the tests decide exactly when bytes are sent and when a client goes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace trm::e2e {

struct HttpReply {
  int status = 0;  // 0: no answer (connection failed, closed or timed out).
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;                            // De-chunked.
};

// One request on a fresh connection ("Connection: close"); `headers` are "Name: value" lines;
// from the loopback address `source` when given (ConnectLoopback).
HttpReply HttpCall(int port, const std::string& method, const std::string& path,
                   const std::string& body = "", const std::vector<std::string>& headers = {},
                   absl::Duration timeout = absl::Seconds(60), const std::string& source = "");

// A loopback TCP connection.
class RawConnection {
 public:
  // From the loopback address `source` when given (ConnectLoopback).
  explicit RawConnection(int port, const std::string& source = "");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool Send(const std::string& bytes);
  // Appends what arrives within `timeout` (at most one read) to `out`; false when the server
  // has closed the connection.
  bool Read(std::string* out, absl::Duration timeout);
  // True once the server closes the connection within `timeout` (data read meanwhile is dropped).
  bool ClosedWithin(absl::Duration timeout);
  void Close();

 private:
  int fd_ = -1;
};

// POSTs `body` to `path` and reads the answer as server-sent events.
class SseClient {
 public:
  SseClient(int port, const std::string& path, const std::string& body,
            const std::vector<std::string>& headers = {});
  // The HTTP status, once the headers have come (0 on failure within `timeout`).
  int Status(absl::Duration timeout = absl::Seconds(60));
  std::string Header(const std::string& lower_case_name) const;

  struct Event {
    std::string name = "message";
    std::string data;
  };
  // The next event, or nullopt when the stream ends (or nothing comes within `timeout`).
  std::optional<Event> Next(absl::Duration timeout = absl::Seconds(60));
  // The server ended the response (its last chunk, or the connection closed), as opposed to
  // Next() giving up after its timeout.
  bool ended() const { return ended_; }
  // The body of a non-event answer (an error), read to its end.
  std::string Rest(absl::Duration timeout = absl::Seconds(60));
  // Goes away without a word: the socket closes.
  void Close() { connection_.Close(); }

 private:
  bool Fill(absl::Duration timeout);  // Reads more and de-chunks into body_.
  RawConnection connection_;
  std::string raw_;   // Bytes read, not yet parsed.
  std::string body_;  // De-chunked body, not yet consumed.
  bool headers_done_ = false, chunked_ = false, ended_ = false;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
};

}  // namespace trm::e2e
