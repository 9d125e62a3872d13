// Request bodies on the HTTP port (issue 35): httplib bounds only a plain Content-Length body, so
// a gzip body was inflated without limit (995 KB became a 1 GB body) and a chunked one buffered
// past the limit; and a request counted as "being answered" from the end of its headers, so a
// body trickled in a byte at a time held its worker for ever (64 of them stopped the HTTP API).
// HttpServer::PostWithBody now counts the body after decoding and the deadlines cover the body
// (server/http/http_server.h). The request head is bounded too (server/http/http_socket_stream.h).
// Each test reproduces one attack on loopback against a real trm-server.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e_http.h"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using e2e::HttpCall;
using e2e::RawConnection;

constexpr size_t kLimit = 1 << 20;  // trm-server's default --http_max_body_bytes.

// The peak resident size of `pid` (VmHWM) in KiB: a body held only for a moment still shows.
long PeakRssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// `size` zero bytes, gzip-compressed (a few hundred bytes per MiB).
std::string GzipOfZeros(size_t size) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  const std::string zeros(1 << 20, '\0');
  std::string out;
  char buffer[1 << 16];
  for (size_t left = size;;) {
    const size_t piece = std::min(left, zeros.size());
    left -= piece;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    z.avail_in = static_cast<uInt>(piece);
    const int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buffer);
      z.avail_out = sizeof buffer;
      deflate(&z, flush);
      out.append(buffer, sizeof buffer - z.avail_out);
    } while (z.avail_out == 0);
    if (left == 0) break;
  }
  deflateEnd(&z);
  return out;
}

// Sends a whole raw request and reads the answer's status line (0: none within `timeout`).
int RawStatus(int port, const std::string& request, absl::Duration timeout = absl::Seconds(60)) {
  RawConnection c(port);
  if (!c.connected()) return 0;
  c.Send(request);  // The server may stop reading early and answer: a failed send is fine.
  std::string reply;
  const absl::Time end = absl::Now() + timeout;
  while (reply.find("\r\n") == std::string::npos && absl::Now() < end) {
    if (!c.Read(&reply, end - absl::Now())) break;
  }
  int status = 0;
  if (reply.rfind("HTTP/1.1 ", 0) == 0) status = std::atoi(reply.c_str() + 9);
  return status;
}

// Everything the server writes on one connection after `request`, until it closes it; `closed`
// says whether it did within `timeout`.
std::string AllReplies(int port, const std::string& request, bool* closed,
                       absl::Duration timeout = absl::Seconds(30)) {
  RawConnection c(port);
  *closed = false;
  if (!c.connected()) return "";
  c.Send(request);
  std::string replies;
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (!c.Read(&replies, end - absl::Now())) {
      *closed = true;
      break;
    }
  }
  return replies;
}

int StatusLines(const std::string& replies) {
  int n = 0;
  for (size_t at = replies.find("HTTP/1.1 "); at != std::string::npos;
       at = replies.find("HTTP/1.1 ", at + 1)) {
    ++n;
  }
  return n;
}

std::string SolveJson() { return absl::StrCat("{\"sudoku\": \"", kSudoku, "\"}"); }

// Each test on a server of its own, which has answered one Solve before the attack (so the peak
// RSS measured after it is against the server's working size, not its start).
class HttpBodyLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SharedCheckpoints().ok);
    server_ = std::make_unique<Server>(std::vector<std::string>{});
    ASSERT_TRUE(server_->process->ok()) << server_->process->child().Log();
    port_ = server_->process->http_port();
    const absl::Time start = absl::Now();
    ASSERT_EQ(HttpCall(port_, "POST", "/v1/solve", SolveJson()).status, 200);
    solve_alone_ = absl::Now() - start;
    peak_before_ = PeakRssKib(server_->process->child().pid());
  }
  // The body limit, a copy of it and the decoders' buffers, with room to spare: far below the
  // bodies sent (512 MiB inflated, 64 MiB chunked).
  void ExpectPeakGrewLessThanTheBody(const std::string& what) {
    const long after = PeakRssKib(server_->process->child().pid());
    EXPECT_LT(after - peak_before_, 4 * static_cast<long>(kLimit / 1024) + 16 * 1024)
        << what << ": peak RSS " << peak_before_ << " -> " << after << " KiB";
    std::printf("%s; peak RSS %ld -> %ld KiB\n", what.c_str(), peak_before_, after);
  }

  std::unique_ptr<Server> server_;
  int port_ = 0;
  absl::Duration solve_alone_;
  long peak_before_ = 0;
};

TEST_F(HttpBodyLimitsTest, AnInflatedBodyIsCutAtTheLimitWith413) {
  const size_t inflated = 512u << 20;
  const std::string gzip = GzipOfZeros(inflated);
  ASSERT_LT(gzip.size(), kLimit);  // Under the limit as sent: only the inflated size is over.
  const std::string request =
      absl::StrCat("POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
                   "Content-Encoding: gzip\r\nContent-Length: ", gzip.size(), "\r\n\r\n", gzip);
  EXPECT_EQ(RawStatus(port_, request), 413);
  ExpectPeakGrewLessThanTheBody(
      absl::StrCat(gzip.size() / 1000, " KB of gzip (", inflated >> 20, " MiB inflated): 413"));
  // The server still answers.
  EXPECT_EQ(HttpCall(port_, "POST", "/v1/solve", SolveJson()).status, 200);
}

// A chunked body: a valid request padded past the limit, and a long stream of chunks.
TEST_F(HttpBodyLimitsTest, AChunkedBodyIsCutAtTheLimitWith413) {
  auto chunked = [](const std::vector<std::string>& chunks) {
    std::string r =
        "POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    for (const auto& c : chunks) absl::StrAppend(&r, absl::Hex(c.size()), "\r\n", c, "\r\n");
    return r + "0\r\n\r\n";
  };
  // Valid JSON of 1.5 MiB (whitespace inside the object), in 64 KiB chunks.
  const std::string valid =
      "{\"sudoku\": \"" + std::string(kSudoku) + "\"" + std::string(kLimit / 2 * 3, ' ') + "}";
  std::vector<std::string> pieces;
  for (size_t i = 0; i < valid.size(); i += 65536) pieces.push_back(valid.substr(i, 65536));
  EXPECT_EQ(RawStatus(port_, chunked(pieces)), 413);
  // The same request under the limit is solved: chunking itself is fine.
  EXPECT_EQ(RawStatus(port_, chunked({SolveJson().substr(0, 10), SolveJson().substr(10)})), 200);

  // 64 MiB of chunks on one connection: the server stops reading at the limit and answers.
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  c.Send(
      "POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  const std::string chunk =
      absl::StrCat(absl::Hex(1 << 20), "\r\n", std::string(1 << 20, ' '), "\r\n");
  int sent = 0;
  while (sent < 64 && c.Send(chunk)) ++sent;
  std::string reply;
  while (reply.find("\r\n") == std::string::npos && c.Read(&reply, absl::Seconds(30))) {
  }
  EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 413") << reply.substr(0, 200);
  EXPECT_LT(sent, 64) << "the server read all 64 MiB";
  ExpectPeakGrewLessThanTheBody(absl::StrCat(
      "chunked: 1.5 MiB valid request 413, under the limit 200; ", sent, " of 64 MiB sent"));
}

// A body that arrives a byte at a time, on its own thread until the server hangs up.
class SlowBody {
 public:
  explicit SlowBody(int port, absl::Duration gap) : connection_(port) {
    thread_ = std::thread([this, gap] {
      const std::string body(4096, ' ');
      const std::string head = absl::StrCat(
          "POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Content-Length: ",
          body.size(), "\r\n\r\n");
      if (!connection_.Send(head)) return;
      for (size_t i = 0; i < body.size() && !stop_; ++i) {
        if (!connection_.Send(body.substr(i, 1))) break;
        started_ = true;  // Headers and a first body byte are out.
        for (absl::Time next = absl::Now() + gap; !stop_ && absl::Now() < next;) {
          absl::SleepFor(absl::Milliseconds(20));
        }
      }
    });
  }
  ~SlowBody() {
    stop_ = true;
    thread_.join();
  }
  bool started() const { return started_; }
  bool ClosedWithin(absl::Duration timeout) { return connection_.ClosedWithin(timeout); }

 private:
  RawConnection connection_;
  std::atomic<bool> stop_{false}, started_{false};
  std::thread thread_;
};

// Alone, a slow body is closed at the request deadline (10 s from connect) like slow headers.
TEST_F(HttpBodyLimitsTest, ASlowBodyIsClosedAtTheRequestDeadline) {
  const absl::Time start = absl::Now();
  SlowBody slow(port_, absl::Milliseconds(500));
  ASSERT_TRUE(WaitUntil([&] { return slow.started(); }, absl::Seconds(10)));
  // A byte every 0.5 s would take 34 minutes; the deadline is 10 s, checked every 0.2 s.
  EXPECT_TRUE(slow.ClosedWithin(absl::Seconds(30)));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Seconds(9));
  EXPECT_LT(took, absl::Seconds(30));
  std::printf("a body at 2 bytes/s closed %s after connect (deadline 10 s)\n",
              absl::FormatDuration(took).c_str());
}

// 64 slow bodies take every HTTP worker (--http_threads 64): while others wait, connections that
// have no request in a handler are cut at the busy deadline (1 s), and a normal POST /v1/solve
// and /healthz get in.
TEST_F(HttpBodyLimitsTest, SixtyFourSlowBodiesLeaveTheApiAnswering) {
  const absl::Duration solve_alone = solve_alone_;
  absl::Time t = absl::Now();
  ASSERT_EQ(HttpCall(port_, "GET", "/healthz").status, 200);
  const absl::Duration healthz_alone = absl::Now() - t;

  std::vector<std::unique_ptr<SlowBody>> slow;
  for (int i = 0; i < 64; ++i) {
    slow.push_back(std::make_unique<SlowBody>(port_, absl::Milliseconds(500)));
  }
  // Each has sent its headers and body bytes: every worker is held in a body.
  for (auto& s : slow) ASSERT_TRUE(WaitUntil([&] { return s->started(); }, absl::Seconds(10)));
  // The busy deadline, two watchdog rounds (0.2 s each) and the request's own time.
  const absl::Duration bound = absl::Seconds(1) + absl::Milliseconds(400);
  t = absl::Now();
  EXPECT_EQ(HttpCall(port_, "GET", "/healthz", "", {}, absl::Seconds(30)).status, 200);
  const absl::Duration healthz = absl::Now() - t;
  t = absl::Now();
  EXPECT_EQ(HttpCall(port_, "POST", "/v1/solve", SolveJson(), {}, absl::Seconds(30)).status, 200);
  const absl::Duration solve = absl::Now() - t;
  EXPECT_LT(healthz, bound + 10 * healthz_alone);
  EXPECT_LT(solve, bound + 10 * solve_alone);
  std::printf("beside 64 slow bodies: /healthz %s (alone %s), POST /v1/solve %s (alone %s)\n",
              absl::FormatDuration(healthz).c_str(), absl::FormatDuration(healthz_alone).c_str(),
              absl::FormatDuration(solve).c_str(), absl::FormatDuration(solve_alone).c_str());
}

// Two ways to frame one body (RFC 9112 6.3): refused with 400 before any of it is read.
TEST_F(HttpBodyLimitsTest, AmbiguousFramingIsRefusedWith400) {
  const std::string body = SolveJson();
  EXPECT_EQ(RawStatus(port_, absl::StrCat("POST /v1/solve HTTP/1.1\r\nHost: x\r\n",
                                          "Content-Length: ", body.size(), "\r\nContent-Length: ",
                                          body.size() + 5, "\r\n\r\n", body)),
            400);
  e2e::HttpReply both = HttpCall(port_, "POST", "/v1/solve", body, {"Transfer-Encoding: chunked"});
  EXPECT_EQ(both.status, 400);
  EXPECT_NE(both.body.find("Content-Length and Transfer-Encoding"), std::string::npos) << both.body;

  // Smuggling: by Content-Length the body holds a second request, by chunking it follows an empty
  // body. Refused, the connection ends: the second request is never answered.
  const std::string tail = "0\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
  bool closed = false;
  const std::string replies =
      AllReplies(port_,
                 absl::StrCat("POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Length: ", tail.size(),
                              "\r\nTransfer-Encoding: chunked\r\n\r\n", tail),
                 &closed);
  EXPECT_EQ(replies.substr(0, 12), "HTTP/1.1 400") << replies;
  EXPECT_EQ(StatusLines(replies), 1) << replies;
  EXPECT_TRUE(closed) << "the connection stayed open after the refusal";
}

// A POST from a page of another origin (a browser sends such a text/plain or form POST without
// asking first) is refused before any work: 403. The server's own page, and clients that send no
// Origin (curl, scripts), are served.
TEST_F(HttpBodyLimitsTest, CrossOriginPostsAreRefused) {
  for (const char* origin : {"http://evil.example", "null", "http://127.0.0.1.evil.example"}) {
    e2e::HttpReply r =
        HttpCall(port_, "POST", "/v1/solve", SolveJson(), {absl::StrCat("Origin: ", origin)});
    EXPECT_EQ(r.status, 403) << origin << ": " << r.body;
    EXPECT_NE(r.body.find("cross-origin request refused: Origin"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("PERMISSION_DENIED"), std::string::npos) << r.body;
  }
  EXPECT_EQ(HttpCall(port_, "POST", "/v1/solve", SolveJson(), {"Origin: http://127.0.0.1"}).status,
            200);
  EXPECT_EQ(HttpCall(port_, "POST", "/v1/solve", SolveJson()).status, 200);
  // Reading is not refused: GETs carry no side effect, and without CORS headers the page cannot
  // read the answer anyway.
  EXPECT_EQ(HttpCall(port_, "GET", "/v1/models", "", {"Origin: http://evil.example"}).status, 200);
}

// A request hidden in the part of a body past the limit is not served: the connection ends with
// the 413 (httplib would otherwise read the rest of the body as the next request).
TEST_F(HttpBodyLimitsTest, NothingPastARefusedBodyIsServed) {
  std::string body =
      absl::StrCat(absl::Hex(kLimit + 1), "\r\n", std::string(kLimit + 1, ' '), "\r\n");
  absl::StrAppend(&body, "0\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
  bool closed = false;
  const std::string replies =
      AllReplies(port_,
                 "POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n" +
                     body,
                 &closed);
  EXPECT_EQ(replies.substr(0, 12), "HTTP/1.1 413") << replies.substr(0, 300);
  EXPECT_EQ(StatusLines(replies), 1) << replies.substr(0, 600);
  EXPECT_TRUE(closed) << "the connection stayed open after the 413";
}

// A header flood: a request head of ever more header lines (httplib 0.11 bounds each line, not
// their number: 200,000 lines, 22 MB, were read into memory and answered 200). Eight clients
// each send up to 16 MB of head, reading as they go: each gets 431 naming the limit, the
// server's peak memory grows by far less than one of the heads, and it serves on.
TEST_F(HttpBodyLimitsTest, AHeaderFloodIsRefusedWith431AndItsMemoryGivenBack) {
  constexpr int kClients = 8;
  constexpr size_t kHead = 16 << 20;
  std::string lines;
  for (int i = 0; lines.size() < (256 << 10); ++i) {
    absl::StrAppend(&lines, "X-Flood-", i, ": ", std::string(80, 'a'), "\r\n");
  }
  std::vector<std::string> replies(kClients);
  std::vector<size_t> sent(kClients, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      RawConnection c(port_);
      if (!c.connected() || !c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n")) return;
      // A piece at a time, stopping once the server answers (or stops reading).
      while (sent[i] < kHead && replies[i].empty()) {
        if (!c.Send(lines)) break;
        sent[i] += lines.size();
        if (!c.Read(&replies[i], absl::ZeroDuration())) break;
      }
      const absl::Time end = absl::Now() + absl::Seconds(30);
      while (replies[i].find("\r\n\r\n") == std::string::npos && absl::Now() < end &&
             c.Read(&replies[i], end - absl::Now())) {
      }
    });
  }
  for (auto& t : clients) t.join();
  size_t most = 0;
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(replies[i].substr(0, 12), "HTTP/1.1 431")
        << "client " << i << " sent " << sent[i] << ": " << replies[i].substr(0, 200);
    EXPECT_NE(replies[i].find("limit of 65536 bytes"), std::string::npos) << replies[i];
    most = std::max(most, sent[i]);
  }
  ExpectPeakGrewLessThanTheBody(absl::StrCat(kClients, " header floods (at most ", most >> 10,
                                             " KiB sent of ", kHead >> 20, " MiB each): 431"));
  EXPECT_EQ(HttpCall(port_, "POST", "/v1/solve", SolveJson()).status, 200);
  trm::v1::SolveResponse response;
  EXPECT_TRUE(Solve(Channel(absl::StrCat("127.0.0.1:", server_->process->port())),
                    Sudoku("after the flood"), &response)
                  .ok());
}

}  // namespace
}  // namespace trm::reliability
