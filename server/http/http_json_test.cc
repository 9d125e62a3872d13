#include "server/http/http_json.h"

#include <gtest/gtest.h>

#include "trm/v1/solver.pb.h"

namespace trm::server {
namespace {

TEST(HttpJsonTest, StatusFollowsGrpcGateway) {
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kCancelled), 499);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnimplemented), 501);
}

TEST(HttpJsonTest, ErrorBodyIsCodeAndMessage) {
  EXPECT_EQ(ErrorJson(absl::NotFoundError("model \"x\" is not loaded")),
            R"({"code":"NOT_FOUND","message":"model \"x\" is not loaded"})");
  // Request text in a message need not be UTF-8; the body still is.
  EXPECT_EQ(ErrorJson(absl::InvalidArgumentError("bad \xff")),
            "{\"code\":\"INVALID_ARGUMENT\",\"message\":\"bad \xEF\xBF\xBD\"}");
}

TEST(HttpJsonTest, ParsesCanonicalJsonAndProtoNames) {
  trm::v1::SolveRequest r;
  ASSERT_TRUE(ParseJson(R"({"sudoku": "1.3", "options": {"maxSteps": 4, "dihedral_views": 2,
                            "exactFallback": true}})",
                        &r)
                  .ok());
  EXPECT_EQ(r.sudoku(), "1.3");
  EXPECT_EQ(r.options().max_steps(), 4);
  EXPECT_EQ(r.options().dihedral_views(), 2);
  EXPECT_TRUE(r.options().exact_fallback());
}

TEST(HttpJsonTest, RejectionsNameTheProblem) {
  struct Case {
    std::string body, want;
  } cases[] = {
      {"", "request body: empty"},
      {"not json", "request body: Unexpected token. (at column 1)"},
      {R"({"sudoku": 5})", "(sudoku): invalid value 5 for type TYPE_STRING"},
      {R"({"sudok": "1"})", "sudok: Cannot find field."},
      {R"({"options": {"bogus": 1}})", "bogus: Cannot find field."},
      {R"({"options": {"maxSteps": "x"}})", "(options.max_steps): invalid value \"x\""},
      {R"({"options": {"maxSteps": 99999999999}})", "(options.max_steps): invalid value"},
      {R"([])", "Root element must be a message."},
      {"{\"sudoku\": \"\xff\"}", "request body: not UTF-8 (byte 12 of 15)"},
      {"{\"sudoku\": \"\xc0\xaf\"}", "not UTF-8 (byte 12"},  // Overlong '/'.
  };
  for (const auto& c : cases) {
    trm::v1::SolveRequest r;
    absl::Status s = ParseJson(c.body, &r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(s.message().find(c.want), std::string::npos) << c.body << " -> " << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  }
  trm::v1::SolveRequest r;
  EXPECT_TRUE(ParseJson("{\"sudoku\": \"\xe2\x9c\x93\"}", &r).ok());  // U+2713 is fine.
}

TEST(HttpJsonTest, PrintsCanonicalJson) {
  trm::v1::SolveResponse r;
  r.set_steps(3);
  r.set_halt_reason(trm::v1::HALT_REASON_Q_HEAD);
  r.mutable_timing()->set_total_ms(1.5);
  EXPECT_EQ(ToJson(r), R"({"steps":3,"haltReason":"HALT_REASON_Q_HEAD","timing":{"totalMs":1.5}})");
}

TEST(HttpJsonTest, GrpcTimeout) {
  EXPECT_EQ(*ParseGrpcTimeout("10S"), absl::Seconds(10));
  EXPECT_EQ(*ParseGrpcTimeout("250m"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseGrpcTimeout("1H"), absl::Hours(1));
  for (const char* bad : {"", "S", "10", "10s", "-5S", "+5S", " 5S", "123456789S", "0S"}) {
    auto t = ParseGrpcTimeout(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.status().message().find("Grpc-Timeout"), std::string::npos);
  }
}

}  // namespace
}  // namespace trm::server
