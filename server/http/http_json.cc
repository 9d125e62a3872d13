#include "server/http/http_json.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace trm::server {
namespace {

// Debian's absl 20220623 has its own string_view, not std's.
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The offset of the first byte that breaks UTF-8, or npos.
size_t InvalidUtf8At(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000;
    } else {
      return i;
    }
    if (i + extra >= s.size()) return i;  // Cut short.
    uint32_t cp = c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return i;
    i += extra + 1;
  }
  return std::string_view::npos;
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS.
      return 500;
  }
}

std::string ErrorJson(const absl::Status& status) {
  nlohmann::json j = {{"code", absl::StatusCodeToString(status.code())},
                      {"message", std::string(status.message())}};
  // Messages quote request text, which need not be UTF-8; such bytes become U+FFFD.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status ParseJson(std::string_view body, google::protobuf::Message* message) {
  if (const size_t at = InvalidUtf8At(body); at != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body: not UTF-8 (byte ", at, " of ", body.size(), ")"));
  }
  if (absl::StripAsciiWhitespace(Absl(body)).empty()) {
    return absl::InvalidArgumentError("request body: empty; send a JSON object");
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), message, options);
  if (status.ok()) return absl::OkStatus();
  // protobuf's syntax errors carry the text and a caret on further lines: keep one line, and say
  // where the caret was.
  const std::string text(status.message().data(), status.message().size());
  std::string first = text.substr(0, text.find('\n'));
  const size_t caret_line = text.rfind('\n');
  if (caret_line != std::string::npos && caret_line + 1 < text.size()) {
    const size_t caret = text.find('^', caret_line + 1);
    if (caret != std::string::npos) {
      absl::StrAppend(&first, " (at column ", caret - caret_line, ")");
    }
  }
  if (absl::StartsWith(first, ": ")) first = first.substr(2);
  return absl::InvalidArgumentError(absl::StrCat("request body: ", first));
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  // Strings the server writes are UTF-8 (its own text, or request text it has validated).
  const auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return "{}";
  return out;
}

absl::StatusOr<absl::Duration> ParseGrpcTimeout(std::string_view value) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "Grpc-Timeout: \"", Absl(value.substr(0, 32)),
        "\" is not a timeout (1 to 8 digits and a unit H, M, S, m, u or n, e.g. 10S)"));
  };
  if (value.size() < 2 || value.size() > 9) return bad();
  const std::string_view digits = value.substr(0, value.size() - 1);
  int64_t n = 0;
  if (!std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(Absl(digits), &n) || n <= 0) {
    return bad();
  }
  switch (value.back()) {
    case 'H':
      return absl::Hours(n);
    case 'M':
      return absl::Minutes(n);
    case 'S':
      return absl::Seconds(n);
    case 'm':
      return absl::Milliseconds(n);
    case 'u':
      return absl::Microseconds(n);
    case 'n':
      return absl::Nanoseconds(n);
  }
  return bad();
}

}  // namespace trm::server
