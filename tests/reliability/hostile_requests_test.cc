// Hostile clients at the request level (issue 22): a 15 MiB request_id, messages that do not
// parse, a SolveSteps stream that is never read, and a drain with a stream still computing; each
// made on loopback against a real trm-server, with what must hold afterwards.
// docs/reliability.md ("Hostile clients") has the figures these tests print.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"
#include "tests/reliability/raw_h2.h"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using grpc::StatusCode;

std::string LogOf(Server& server) { return server.process->child().Log(); }

// One call of `method` with `bytes` as its request message, whatever they are; the status, and
// the count of messages that came back.
grpc::Status RawBytesCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& bytes, int* messages = nullptr) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(30));
  auto next = [&cq] {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  auto call = stub.PrepareCall(&context, method, &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  grpc::Status status;
  if (next()) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    call->WriteLast(request, grpc::WriteOptions(), reinterpret_cast<void*>(2));
    next();
    grpc::ByteBuffer response;
    int n = 0;
    for (;;) {
      call->Read(&response, reinterpret_cast<void*>(3));
      if (!next()) break;
      ++n;
    }
    if (messages) *messages = n;
  }
  call->Finish(&status, reinterpret_cast<void*>(4));
  next();
  return status;
}

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(0x80 | (v & 0x7f)));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// Calls at once with a 15 MiB request_id: refused with the field and the limit named, and the
// memory the messages took goes back to the system (trimmed every second here; glibc alone kept
// 75 MiB of these 8 calls' 120 MiB). Without the cap each was accepted and held (20 held 900 MiB).
TEST(HostileRequestsTest, HugeRequestIdIsRefusedAndItsMemoryGivenBack) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  constexpr int kCalls = 8;
  Server server({"--malloc_trim_interval_s=1"});
  ASSERT_TRUE(server.process->ok()) << LogOf(server);
  const pid_t pid = server.process->child().pid();
  const long rss_before = RssKib(pid);
  const std::string id(15 << 20, 'i');
  std::atomic<long> rss_peak{rss_before};
  std::mutex mu;
  std::map<StatusCode, int> codes;
  std::string message;
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&] {
      trm::v1::SolveResponse r;
      grpc::Status s = Solve(Channel(server.process->address()), Sudoku(id), &r);
      rss_peak = std::max(rss_peak.load(), RssKib(pid));
      std::lock_guard lock(mu);
      ++codes[s.error_code()];
      message = s.error_message();
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(codes[StatusCode::INVALID_ARGUMENT], kCalls);
  EXPECT_EQ(message, "request_id: 15728640 bytes, the limit is 256");
  // At most half the burst's payload (8 x 15 MiB) stays: trimmed, 0-47 MiB stayed on the loaded
  // development machine; the server before the cap kept 456 MiB.
  constexpr long kKeptKib = kCalls * (15 << 10) / 2;
  long rss_after = 0;
  EXPECT_TRUE(WaitRssBelow(pid, rss_before + kKeptKib, absl::Seconds(30), &rss_after))
      << "RSS " << rss_before << " -> " << rss_after << " KiB";
  trm::v1::SolveResponse r;
  EXPECT_TRUE(Solve(Channel(server.process->address()), Sudoku("ok"), &r).ok());
  std::printf("15 MiB request_id x %d: all INVALID_ARGUMENT; RSS %ld -> peak %ld -> %ld KiB\n",
              kCalls, rss_before, rss_peak.load(), rss_after);
}

// Messages that do not parse as a SolveRequest get INVALID_ARGUMENT naming the method (gRPC 1.51
// said UNIMPLEMENTED with no message), are counted, and protobuf's own log line for invalid
// UTF-8 is written once, not once per request.
TEST(HostileRequestsTest, MalformedMessagesAreInvalidArgumentCountedAndNotLoggedEachTime) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({});
  ASSERT_TRUE(server.process->ok()) << LogOf(server);
  auto ch = Channel(server.process->address());
  const std::string valid = Sudoku("id").SerializeAsString();
  std::string bad_utf8 = valid;
  bad_utf8[bad_utf8.rfind("id")] = '\xff';
  std::string groups;  // Field 1 as a group, nested 150 deep (protobuf stops at 100).
  for (int i = 0; i < 150; ++i) groups += '\x0b';
  for (int i = 0; i < 150; ++i) groups += '\x0c';
  const struct {
    const char* name;
    std::string bytes;
  } cases[] = {
      {"invalid UTF-8 in request_id", bad_utf8},
      {"truncated field", "\x12" + Varint(81) + std::string(10, '.')},
      {"groups nested 150 deep", groups},
      {"wire type 7", std::string("\x0f\x01", 2)},
  };
  for (const auto& c : cases) {
    for (const char* method : {"/trm.v1.Solver/Solve", "/trm.v1.Solver/SolveSteps"}) {
      int messages = -1;
      const grpc::Status s = RawBytesCall(ch, method, c.bytes, &messages);
      EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << c.name << " " << method;
      EXPECT_TRUE(absl::StrContains(s.error_message(), method)) << s.error_message();
      EXPECT_TRUE(absl::StrContains(s.error_message(), "protobuf parse failed"))
          << s.error_message();
      EXPECT_EQ(messages, 0) << c.name << " " << method;
    }
  }
  const size_t log_before = LogOf(server).size();
  constexpr int kFlood = 2000;
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_EQ(RawBytesCall(ch, "/trm.v1.Solver/Solve", bad_utf8).error_code(),
              StatusCode::INVALID_ARGUMENT);
  }
  const std::string log = LogOf(server);
  const size_t grown = log.size() - log_before;
  EXPECT_LT(grown, 1024u) << log.substr(log_before, 2000);
  int protobuf_lines = 0;
  for (size_t at = 0; (at = log.find("protobuf: ", at)) != std::string::npos; ++at) {
    ++protobuf_lines;
  }
  EXPECT_LE(protobuf_lines, 2) << log;
  EXPECT_GE(protobuf_lines, 1) << "the first protobuf line is kept: " << log;
  const std::string metrics = server.Metrics();
  const double want = kFlood + 4;  // Solve: the flood and the 4 cases.
  EXPECT_EQ(MetricSum(metrics, "trm_malformed_requests_total"), want + 4);  // And SolveSteps'.
  EXPECT_EQ(MetricSumWith(metrics, "trm_requests_total",
                          "code=\"INVALID_ARGUMENT\",method=\"Solve\",model=\"\""),
            want);
  EXPECT_GE(MetricSum(metrics, "trm_protobuf_log_messages_total"), kFlood + 2);
  // Still serving; an unknown method is still UNIMPLEMENTED.
  trm::v1::SolveResponse r;
  EXPECT_TRUE(Solve(ch, Sudoku("ok"), &r).ok());
  EXPECT_EQ(RawBytesCall(ch, "/trm.v1.Solver/NoSuchMethod", valid).error_code(),
            StatusCode::UNIMPLEMENTED);
  std::printf(
      "malformed: 4 kinds x 2 methods INVALID_ARGUMENT; %d invalid UTF-8 requests grew the "
      "log by %zu bytes (%d protobuf lines)\n",
      kFlood, grown, protobuf_lines);
}

// A SolveSteps call on a connection whose flow-control window is 0, so the server can write
// nothing: the stream is opened, its request sent, and nothing is ever read.
struct NeverReadStream {
  std::optional<RawConnection> connection;
  absl::Time sent;
};
NeverReadStream OpenNeverReadStream(int port, const trm::v1::SolveRequest& request) {
  NeverReadStream s;
  s.connection = RawConnection::Connect(port);
  if (!s.connection) return s;
  constexpr uint16_t kInitialWindowSize = 4;
  s.connection->StartHttp2({{kInitialWindowSize, 0}});
  s.connection->Send(
      EncodeFrame(kHeaders, kEndHeaders, 1, GrpcRequestHeaderBlock("/trm.v1.Solver/SolveSteps")) +
      EncodeFrame(kData, kEndStream, 1, GrpcMessage(request.SerializeAsString())));
  s.sent = absl::Now();
  return s;
}

// The steps of a stream nobody reads wait in a bounded queue: a slow reader gets the latest
// steps (the rest are merged into them and counted), not every step held until it goes.
TEST(HostileRequestsTest, NeverReadStreamHoldsABoundedQueue) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({"--stream_stall_timeout_s=0", "--stream_queue_steps=8"});
  ASSERT_TRUE(server.process->ok()) << LogOf(server);
  const int mport = server.process->metrics_port();
  NeverReadStream stream = OpenNeverReadStream(server.process->port(), Long(1024));
  ASSERT_TRUE(stream.connection.has_value());
  // The engine finishes the request (its answer counted when the result is in; the request is
  // counted when the stream ends) and frees the slot...
  ASSERT_TRUE(WaitUntil([&] { return MetricSum(server.Metrics(), "trm_answers_total") == 1; },
                        absl::Seconds(60)))
      << server.Metrics();
  EXPECT_TRUE(WaitMetric(mport, "trm_active_requests", 0));
  // ... while the stream keeps at most 8 messages besides the one in flight: of the 1,024
  // (1,023 steps and the final), 1,015 were merged, counted when the stream ends.
  stream.connection.reset();
  EXPECT_TRUE(WaitMetric(mport, "trm_stream_steps_merged_total", 1024 - 1 - 8)) << server.Metrics();
  EXPECT_TRUE(WaitMetric(mport, "trm_requests_total{code=\"CANCELLED\",method=\"SolveSteps\"", 1))
      << server.Metrics();
  trm::v1::SolveResponse r;
  EXPECT_TRUE(Solve(Channel(server.process->address()), Sudoku("ok"), &r).ok());
  std::printf("never-read stream: 1,024 messages made, %.0f merged, 9 held at most\n",
              MetricSum(server.Metrics(), "trm_stream_steps_merged_total"));
}

// A stream whose client takes no message for --stream_stall_timeout_s is cancelled (RST_STREAM),
// counted, and its connection stays up.
TEST(HostileRequestsTest, StalledStreamIsCancelledAfterTheStallTimeout) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({"--stream_stall_timeout_s=1"});
  ASSERT_TRUE(server.process->ok()) << LogOf(server);
  NeverReadStream stream = OpenNeverReadStream(server.process->port(), Long(1024));
  ASSERT_TRUE(stream.connection.has_value());
  const auto reset = stream.connection->ReadUntil(kRstStream, 1, absl::Seconds(60));
  ASSERT_TRUE(reset.has_value()) << "no RST_STREAM; closed: " << stream.connection->closed() << "\n"
                                 << server.Metrics();
  const absl::Duration took = absl::Now() - stream.sent;
  EXPECT_GE(took, absl::Seconds(1)) << "cancelled before the stall timeout";
  EXPECT_TRUE(WaitMetric(server.process->metrics_port(), "trm_stream_stalls_total", 1));
  EXPECT_TRUE(WaitMetric(server.process->metrics_port(), "trm_active_requests", 0));
  // Counted as the client saw it end: CANCELLED, even where the engine had finished the steps.
  EXPECT_TRUE(WaitMetric(server.process->metrics_port(),
                         "trm_requests_total{code=\"CANCELLED\",method=\"SolveSteps\"", 1))
      << server.Metrics();
  EXPECT_EQ(MetricSum(server.Metrics(), "trm_requests_total{code=\"OK\",method=\"SolveSteps\""), 0)
      << server.Metrics();
  ASSERT_TRUE(stream.connection->Send(EncodeFrame(kPing, 0, 0, "stalled!")));
  const auto pong = stream.connection->ReadUntil(kPing, 0, absl::Seconds(30));
  EXPECT_TRUE(pong.has_value()) << "the connection went with the stream";
  std::printf("stalled stream: RST_STREAM %s after the request (timeout 1 s)\n",
              absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(10))).c_str());
}

// SIGTERM to exit, for a server with nothing to do: the process's own shutdown cost.
absl::Duration IdleStopTime(const std::vector<std::string>& flags) {
  Server idle(flags);
  if (!idle.process->ok()) return absl::InfiniteDuration();
  const absl::Time t0 = absl::Now();
  idle.process->child().Signal(SIGTERM);
  if (!idle.process->child().Wait(absl::Seconds(60))) return absl::InfiniteDuration();
  return absl::Now() - t0;
}

// With streams computing at SIGTERM, one more whose client reads nothing (its last messages
// can never be written) and --drain_timeout_s=5, the process exits within the drain timeout plus
// what an idle server takes to stop (measured here) and a small margin; it used to add a fixed
// 2 s (later at least 5 s) after the drain, waiting for the stream nobody reads.
TEST(HostileRequestsTest, DrainEndsWithinItsFlag) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  constexpr int kDrainS = 5;
  const std::vector<std::string> flags = {"--batch_size=1", "--queue_size=64",
                                          "--stream_stall_timeout_s=0",
                                          absl::StrCat("--drain_timeout_s=", kDrainS)};
  const absl::Duration idle_stop = IdleStopTime(flags);
  ASSERT_LT(idle_stop, absl::Seconds(60));
  Server server(flags);
  ASSERT_TRUE(server.process->ok()) << LogOf(server);
  // The stream nobody reads: its engine work ends, its messages wait for a window that never
  // opens, so the call stays open until the server cancels it.
  NeverReadStream unread = OpenNeverReadStream(server.process->port(), Long(64));
  ASSERT_TRUE(unread.connection.has_value());
  ASSERT_TRUE(WaitUntil([&] { return MetricSum(server.Metrics(), "trm_answers_total") == 1; },
                        absl::Seconds(60)))
      << server.Metrics();
  // Enough 1,024-step requests, one at a time, to keep the engine busy for 3 drain timeouts.
  const absl::Time t0 = absl::Now();
  trm::v1::SolveResponse one;
  ASSERT_TRUE(Solve(Channel(server.process->address()), Long(1024), &one).ok());
  const absl::Duration per_request = absl::Now() - t0;
  const int streams = std::min(
      60, 2 + static_cast<int>(std::ceil(3 * kDrainS / absl::ToDoubleSeconds(per_request))));
  std::atomic<int> ok{0}, unavailable{0}, other{0};
  absl::Notification computing;
  std::vector<std::thread> callers;
  for (int i = 0; i < streams; ++i) {
    callers.emplace_back([&] {
      grpc::ClientContext c;
      SetDeadline(&c, absl::Seconds(120));
      auto reader =
          trm::v1::Solver::NewStub(Channel(server.process->address()))->SolveSteps(&c, Long(1024));
      trm::v1::SolveStep step;
      while (reader->Read(&step)) {
        if (!computing.HasBeenNotified()) computing.Notify();
      }
      const grpc::Status s = reader->Finish();
      (s.ok() ? ok : s.error_code() == StatusCode::UNAVAILABLE ? unavailable : other)++;
    });
  }
  ASSERT_TRUE(computing.WaitForNotificationWithTimeout(absl::Seconds(60)));
  const absl::Time signalled = absl::Now();
  server.process->child().Signal(SIGTERM);
  const std::optional<int> code = server.process->child().Wait(absl::Seconds(120));
  const absl::Duration took = absl::Now() - signalled;
  for (auto& c : callers) c.join();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << LogOf(server);
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(unavailable.load(), 0) << "the engine was still busy at the deadline";
  // The documented bound: the drain timeout, plus one batch step and gRPC's shutdown (both
  // covered by the idle server's stop time, taken twice for noise), plus half a second.
  const absl::Duration bound = absl::Seconds(kDrainS) + 2 * idle_stop + absl::Milliseconds(500);
  EXPECT_LE(took, bound) << LogOf(server);
  std::printf(
      "drain: %d streams (%d OK, %d UNAVAILABLE), exit %s after SIGTERM with "
      "--drain_timeout_s=%d (idle stop %s, bound %s)\n",
      streams, ok.load(), unavailable.load(),
      absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(10))).c_str(), kDrainS,
      absl::FormatDuration(absl::Trunc(idle_stop, absl::Milliseconds(10))).c_str(),
      absl::FormatDuration(absl::Trunc(bound, absl::Milliseconds(10))).c_str());
}

// Calls whose request message never arrives (HEADERS without END_STREAM, then nothing) wait in
// gRPC 1.51's core, where no service sees them (unary and server-streaming handlers start with
// the message): 20,000 over 200 connections held 239 MB, for good. They now end with their
// connection, which gRPC closes at --max_connection_age_s (GOAWAY) plus the grace.
TEST(HostileRequestsTest, CallsWhoseMessageNeverArrivesEndWithTheirConnection) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  constexpr int kAgeS = 2, kGraceS = 2;
  constexpr int kConnections = 20, kCallsEach = 100;  // --max_concurrent_streams' default.
  Server server({absl::StrCat("--max_connection_age_s=", kAgeS),
                 absl::StrCat("--max_connection_age_grace_s=", kGraceS),
                 "--malloc_trim_interval_s=1"});
  ASSERT_TRUE(server.process->ok()) << LogOf(server);
  const pid_t pid = server.process->child().pid();
  trm::v1::SolveResponse warm;
  ASSERT_TRUE(Solve(Channel(server.process->address()), Sudoku("warm"), &warm).ok());
  const long rss_before = RssKib(pid);
  const std::string before = server.Metrics();
  const double started_before = MetricSum(before, "trm_grpc_calls_started_total");
  const double failed_before = MetricSum(before, "trm_grpc_calls_failed_total");
  std::vector<RawConnection> held;
  const absl::Time opened = absl::Now();
  for (int i = 0; i < kConnections; ++i) {
    auto c = RawConnection::Connect(server.process->port());
    ASSERT_TRUE(c && c->StartHttp2());
    std::string batch;
    for (int k = 0; k < kCallsEach; ++k) {
      batch += EncodeFrame(kHeaders, kEndHeaders, 2 * k + 1,
                           GrpcRequestHeaderBlock("/trm.v1.Solver/Solve"));
    }
    ASSERT_TRUE(c->Send(batch));
    held.push_back(std::move(*c));
  }
  constexpr int kCalls = kConnections * kCallsEach;
  long rss_peak = RssKib(pid);
  ASSERT_TRUE(WaitUntil(
      [&] {
        rss_peak = std::max(rss_peak, RssKib(pid));
        return MetricSum(server.Metrics(), "trm_grpc_calls_started_total") >=
               started_before + kCalls;
      },
      absl::Seconds(60)))
      << server.Metrics();
  // Each connection is closed by the server. The client answers the server's keepalive pings,
  // as an attacker's would (a connection that does not is closed after 80 s anyway).
  absl::Duration first_closed = absl::InfiniteDuration(), last_closed;
  for (RawConnection& c : held) {
    while (!c.closed() && absl::Now() - opened < absl::Seconds(60)) {
      const std::optional<Frame> ping = c.ReadUntil(kPing, 0, absl::Seconds(1));
      if (ping && (ping->flags & kAck) == 0) c.Send(EncodeFrame(kPing, kAck, 0, ping->payload));
    }
    ASSERT_TRUE(c.closed()) << "a connection holding calls without messages is still open";
    first_closed = std::min(first_closed, absl::Now() - opened);
    last_closed = std::max(last_closed, absl::Now() - opened);
  }
  // gRPC jitters the age by up to 10%; the grace follows it.
  EXPECT_GE(first_closed, absl::Seconds(0.9 * kAgeS));
  EXPECT_TRUE(WaitUntil(
      [&] {
        return MetricSum(server.Metrics(), "trm_grpc_calls_failed_total") >= failed_before + kCalls;
      },
      absl::Seconds(60)))
      << server.Metrics();
  trm::v1::SolveResponse r;
  const grpc::Status s = Solve(Channel(server.process->address()), Sudoku("after"), &r);
  EXPECT_TRUE(s.ok()) << s.error_message();
  long rss_after = 0;
  ExpectRssBackWithin(pid, rss_before, 48 * 1024, &rss_after);
  std::printf(
      "%d calls without a message on %d connections: closed %s to %s after opening (age %d s, "
      "grace %d s); RSS %ld -> peak %ld -> %ld KiB\n",
      kCalls, kConnections,
      absl::FormatDuration(absl::Trunc(first_closed, absl::Milliseconds(10))).c_str(),
      absl::FormatDuration(absl::Trunc(last_closed, absl::Milliseconds(10))).c_str(), kAgeS,
      kGraceS, rss_before, rss_peak, rss_after);
}

// Clients that keep a channel open between calls (as every gRPC client library does) must not
// hold the drain: gRPC's Shutdown waits for its connections until the deadline it is given, and
// with nothing in flight the server has nothing to wait for. SIGTERM with three idle connected
// channels took the whole --drain_timeout_s (13.2 s with 10 s; 2.0 s with none).
TEST(HostileRequestsTest, IdleChannelsDoNotHoldTheDrain) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  constexpr int kDrainS = 10;
  const std::vector<std::string> flags = {absl::StrCat("--drain_timeout_s=", kDrainS)};
  const absl::Duration idle_stop = IdleStopTime(flags);
  ASSERT_LT(idle_stop, absl::Seconds(60));
  Server server(flags);
  ASSERT_TRUE(server.process->ok()) << LogOf(server);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 3; ++i) {
    channels.push_back(e2e::NewConnection(server.process->address()));
    grpc::ClientContext c;
    SetDeadline(&c, absl::Seconds(30));
    trm::v1::ListModelsResponse models;
    ASSERT_TRUE(trm::v1::Solver::NewStub(channels.back())
                    ->ListModels(&c, trm::v1::ListModelsRequest(), &models)
                    .ok());
  }
  const absl::Time signalled = absl::Now();
  server.process->child().Signal(SIGTERM);
  const std::optional<int> code = server.process->child().Wait(absl::Seconds(120));
  const absl::Duration took = absl::Now() - signalled;
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << LogOf(server);
  // As the idle server, within its own noise (three times its stop time, plus a second).
  EXPECT_LT(took, 3 * idle_stop + absl::Seconds(1)) << LogOf(server);
  std::printf("SIGTERM to exit with 3 idle channels: %s (no channels: %s; --drain_timeout_s=%d)\n",
              absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(10))).c_str(),
              absl::FormatDuration(absl::Trunc(idle_stop, absl::Milliseconds(10))).c_str(),
              kDrainS);
}

}  // namespace
}  // namespace trm::reliability
