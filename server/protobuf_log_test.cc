#include "server/protobuf_log.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "trm/v1/solver.pb.h"

namespace trm::server {
namespace {

// The value of the unlabelled counter `name`; -1 when there is none.
double CounterValue(const Metrics& metrics, const std::string& name) {
  for (const auto& family : metrics.registry()->Collect()) {
    if (family.name == name && family.metric.size() == 1) return family.metric[0].counter.value;
  }
  return -1;
}

int CountLines(const std::string& text, const std::string& part) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) n += absl::StrContains(line, part);
  return n;
}

// The real thing: a SolveRequest whose request_id is not UTF-8, parsed 2,000 times, writes one
// protobuf line to stderr (protobuf's default handler wrote 2,000) and counts every one.
TEST(ProtobufLogRouterTest, InvalidUtf8ParsesWriteOneLineAndCountEach) {
  Metrics metrics;
  std::string bytes;
  {
    trm::v1::SolveRequest r;
    r.set_sudoku(std::string(81, '.'));
    r.set_request_id("ok");
    bytes = r.SerializeAsString();
  }
  const size_t at = bytes.find("ok");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\xff';  // 0xff never occurs in UTF-8.
  testing::internal::CaptureStderr();
  {
    ProtobufLogRouter router(&metrics, absl::Minutes(1));
    for (int i = 0; i < 2000; ++i) {
      trm::v1::SolveRequest r;
      ASSERT_FALSE(r.ParseFromString(bytes));
    }
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(CountLines(err, "protobuf:"), 1) << err.substr(0, 2000);
  EXPECT_EQ(CountLines(err, "invalid UTF-8"), 1) << err.substr(0, 2000);
  EXPECT_FALSE(absl::StrContains(err, "\xff"));
  EXPECT_EQ(CounterValue(metrics, "trm_protobuf_log_messages_total"), 2000);
}

TEST(ProtobufLogRouterTest, NextLineAfterTheIntervalSaysHowManyWereHeldBack) {
  Metrics metrics;
  testing::internal::CaptureStderr();
  {
    ProtobufLogRouter router(&metrics, absl::Minutes(1));
    const absl::Time t0 = absl::UnixEpoch();
    for (int i = 0; i < 10; ++i) router.Handle("error", "first", t0 + absl::Seconds(i));
    router.Handle("error", "second", t0 + absl::Seconds(61));
    router.Handle("fatal", "always", t0 + absl::Seconds(62));
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(CountLines(err, "protobuf: first"), 1) << err;
  EXPECT_EQ(CountLines(err, "protobuf: second (9 more protobuf log lines"), 1) << err;
  EXPECT_EQ(CountLines(err, "protobuf: always"), 1) << err;
}

// Destruction puts protobuf's own handler back (not protobuf's silent one).
TEST(ProtobufLogRouterTest, DestructionRestoresTheDefaultHandler) {
  Metrics metrics;
  { ProtobufLogRouter router(&metrics, absl::Minutes(1)); }
  testing::internal::CaptureStderr();
  GOOGLE_LOG(ERROR) << "after the router";
  EXPECT_TRUE(absl::StrContains(testing::internal::GetCapturedStderr(), "after the router"));
}

}  // namespace
}  // namespace trm::server
