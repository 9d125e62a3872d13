#include "server/guards/malformed_request_interceptor.h"

#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/server_context.h"

namespace trm::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MalformedRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  MalformedRequestInterceptor(Metrics* metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics),
        info_(info),
        path_(info->method() ? info->method() : ""),
        start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      no_message_ = true;
    }
    if (no_message_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status sent = methods->GetSendStatus();
      if (sent.error_code() == grpc::StatusCode::UNIMPLEMENTED && sent.error_message().empty()) {
        unparsed_ = true;
        // Harmless when the client has reset the stream: nobody reads it then.
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("request: the message is not a valid request of ", path_,
                         " (protobuf parse failed: e.g. invalid UTF-8 in a string field, a "
                         "truncated field, an invalid wire type, or nesting deeper than 100)")));
      }
    }
    // Only once the call is closed does the context know whether the client cancelled it: a
    // stream reset before its message came (rapid reset), or a message that did not parse.
    if (unparsed_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_CLOSE)) {
      Count(info_->server_context()->IsCancelled() ? "CANCELLED" : "INVALID_ARGUMENT");
    }
    methods->Proceed();
  }

 private:
  void Count(const char* code) {
    // path_ is "/package.Service/Method", one of the server's registered methods.
    const size_t slash = path_.rfind('/');
    const std::string method = slash == std::string::npos ? path_ : path_.substr(slash + 1);
    if (std::string_view(code) == "CANCELLED") {
      metrics_->RecordResetBeforeRequest();
    } else {
      metrics_->RecordMalformedRequest();
    }
    if (absl::StartsWith(path_, "/trm.v1.")) {
      metrics_->RecordRequest(method, "", code, absl::ToDoubleSeconds(absl::Now() - start_));
    }
  }

  Metrics* metrics_;
  grpc::experimental::ServerRpcInfo* info_;  // gRPC's; lives as long as the call.
  const std::string path_;
  const absl::Time start_;
  bool no_message_ = false;
  bool unparsed_ = false;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(Metrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    if (info->type() != Type::UNARY && info->type() != Type::SERVER_STREAMING) return nullptr;
    return new MalformedRequestInterceptor(metrics_, info);
  }

 private:
  Metrics* metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMalformedRequestInterceptorFactory(Metrics* metrics) {
  return std::make_unique<Factory>(metrics);
}

}  // namespace trm::server
