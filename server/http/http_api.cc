#include "server/http/http_api.h"

#include <httplib.h>

#include <deque>
#include <memory>
#include <optional>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/sync.h"
#include "server/http/http_json.h"
#include "server/puzzle_examples.h"
#include "server/solve_call.h"

namespace trm::server {
namespace {

using trm::v1::SolveRequest;
using trm::v1::SolveResponse;
using trm::v1::SolveStep;

constexpr char kJson[] = "application/json";
// How often a handler waiting on the engine looks whether its client is still there.
constexpr absl::Duration kClientCheck = absl::Milliseconds(100);

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// The library's own answers (no route, body too large, malformed request) as JSON errors.
absl::Status LibraryError(const httplib::Request& req, int http_status) {
  switch (http_status) {
    case 404:
      return absl::NotFoundError(absl::StrCat(
          "no endpoint ", req.method, " ", req.path.substr(0, 64),
          " (POST /v1/solve, POST /v1/solve:stream, POST /v1/arc:run, GET /v1/models, GET "
          "/v1/example, GET /healthz, GET /readyz)"));
    case 413:
      return absl::ResourceExhaustedError("request body: larger than the server's limit");
    case 414:
      return absl::InvalidArgumentError("request line: longer than the server's limit");
    default:
      if (http_status >= 500) {
        return absl::InternalError(absl::StrCat("HTTP ", http_status, " from the server"));
      }
      return absl::InvalidArgumentError(absl::StrCat("bad HTTP request (", http_status, ")"));
  }
}

// One server-sent event: `data:` holds one line of JSON.
std::string Event(const std::string& json, const char* name = nullptr) {
  return name == nullptr ? absl::StrCat("data: ", json, "\n\n")
                         : absl::StrCat("event: ", name, "\ndata: ", json, "\n\n");
}

// A /v1/solve in progress: the HTTP worker waits for the call's answer, looking meanwhile whether
// its client is still there. Shared with the done handler, which may run after the worker left.
struct UnaryCall {
  explicit UnaryCall(SolveContext* context) : call(context, "http:/v1/solve") {}
  SolveCall call;
  Mutex mu;
  CondVar answered;
  bool done ABSL_GUARDED_BY(mu) = false;
  grpc::Status status ABSL_GUARDED_BY(mu);
  SolveResponse response ABSL_GUARDED_BY(mu);
};

// A /v1/solve:stream in progress, shared by the call's handlers (a completion thread) and the
// response's content provider (the HTTP worker), which formats and writes the events.
struct StreamCall {
  explicit StreamCall(SolveContext* context) : call(context, "http:/v1/solve:stream") {}
  SolveCall call;
  std::shared_ptr<void> busy;  // The connection's HttpConnections mark, until the last write.
  bool finished = false;       // HTTP worker only: the last event went out.

  Mutex mu;
  CondVar ready;
  std::deque<SolveStep> steps ABSL_GUARDED_BY(mu);
  bool done ABSL_GUARDED_BY(mu) = false;
  grpc::Status status ABSL_GUARDED_BY(mu);
  std::optional<SolveStep> final_step ABSL_GUARDED_BY(mu);  // When done with OK.
};

}  // namespace

void SetError(const absl::Status& status, httplib::Response& res) {
  res.status = HttpStatusFor(status.code());
  res.set_content(ErrorJson(status), kJson);
}

HttpApi::HttpApi(SolveContext* context, HttpServer* http, size_t max_arc_run_bytes)
    : context_(context), connections_(&http->connections()) {
  auto& routes = http->routes();
  http->PostWithBody("/v1/solve", [this](const auto& req, auto& res) { Solve(req, res); });
  http->PostWithBody("/v1/solve:stream",
                     [this](const auto& req, auto& res) { SolveStream(req, res); });
  http->PostWithBody(
      "/v1/arc:run", [this](const auto& req, auto& res) { ArcRun(req, res); }, max_arc_run_bytes);
  routes.Get("/v1/models", [this](const auto& req, auto& res) { Models(req, res); });
  routes.Get("/v1/example", [this](const auto& req, auto& res) { Example(req, res); });
  routes.Get("/healthz",
             [](const auto&, auto& res) { res.set_content("{\"status\":\"ok\"}", kJson); });
  routes.Get("/readyz", [this](const auto& req, auto& res) { Ready(req, res); });
  routes.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                   httplib::Response& res) {
    // Our handlers' errors already have a JSON body; the library's (no route, 413, ...) and
    // HttpServer's (plain text saying what was wrong) get one here.
    if (res.get_header_value("Content-Type") == kJson) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const int status = res.status;
    SetError(res.body.empty() ? LibraryError(req, status)
                              : absl::Status(status == 413   ? absl::StatusCode::kResourceExhausted
                                             : status == 403 ? absl::StatusCode::kPermissionDenied
                                                             : absl::StatusCode::kInvalidArgument,
                                             res.body),
             res);
    res.status = status;
    return httplib::Server::HandlerResponse::Handled;
  }));
  routes.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SetError(absl::InternalError(absl::StrCat("internal error: ", what)), res);
      });
}

void HttpApi::Record(const std::string& method, const std::string& model, absl::StatusCode code,
                     absl::Time start) {
  context_->metrics()->RecordRequest(method, model, absl::StatusCodeToString(code),
                                     absl::ToDoubleSeconds(absl::Now() - start));
}

absl::Status HttpApi::ParseSolve(const httplib::Request& req, const std::string& method,
                                 absl::Time start, SolveRequest* request, absl::Time* deadline) {
  absl::Status status = ParseJson(req.body, request);
  *deadline = absl::InfiniteFuture();
  if (status.ok() && req.has_header("Grpc-Timeout")) {
    absl::StatusOr<absl::Duration> timeout = ParseGrpcTimeout(req.get_header_value("Grpc-Timeout"));
    if (timeout.ok()) {
      *deadline = start + *timeout;
    } else {
      status = timeout.status();
    }
  }
  // No model label: the request did not get as far as naming a loaded model.
  if (!status.ok()) Record(method, "", status.code(), start);
  return status;
}

void HttpApi::Solve(const httplib::Request& req, httplib::Response& res) {
  const absl::Time start = absl::Now();
  auto busy = connections_->Busy(req.remote_addr, req.remote_port);
  SolveRequest request;
  absl::Time deadline;
  if (absl::Status s = ParseSolve(req, "http:/v1/solve", start, &request, &deadline); !s.ok()) {
    return SetError(s, res);
  }
  auto unary = std::make_shared<UnaryCall>(context_);
  unary->call.set_client(absl::StrCat("http:", req.remote_addr, ":", req.remote_port));
  unary->call.Start(request, deadline, nullptr,
                    [unary](const grpc::Status& status, SolveResponse response) {
                      MutexLock lock(&unary->mu);
                      unary->status = status;
                      unary->response = std::move(response);
                      unary->done = true;
                      unary->answered.SignalAll();
                    });
  bool client_gone = false;
  MutexLock lock(&unary->mu);
  while (!unary->done) {
    if (!unary->answered.WaitUntil(&unary->mu, absl::Now() + kClientCheck)) continue;
    if (!client_gone && connections_->PeerGone(req.remote_addr, req.remote_port)) {
      client_gone = true;
      unary->call.Cancel();  // The engine answers CANCELLED at its next step boundary.
    }
  }
  if (!unary->status.ok()) return SetError(ToAbsl(unary->status), res);
  res.set_content(ToJson(unary->response), kJson);
}

void HttpApi::SolveStream(const httplib::Request& req, httplib::Response& res) {
  const absl::Time start = absl::Now();
  auto stream = std::make_shared<StreamCall>(context_);
  stream->busy = connections_->Busy(req.remote_addr, req.remote_port);
  SolveRequest request;
  absl::Time deadline;
  if (absl::Status s = ParseSolve(req, "http:/v1/solve:stream", start, &request, &deadline);
      !s.ok()) {
    return SetError(s, res);
  }
  stream->call.set_client(absl::StrCat("http:", req.remote_addr, ":", req.remote_port));
  // The handlers hold the stream: the engine may answer after the client has gone.
  stream->call.Start(
      request, deadline,
      [stream](SolveStep step) {
        MutexLock lock(&stream->mu);
        stream->steps.push_back(std::move(step));
        stream->ready.SignalAll();
      },
      [stream](const grpc::Status& status, SolveResponse response) {
        std::optional<SolveStep> last;
        if (status.ok()) last = stream->call.FinalStep(std::move(response));
        MutexLock lock(&stream->mu);
        stream->status = status;
        stream->final_step = std::move(last);
        stream->done = true;
        stream->ready.SignalAll();
      });
  {
    // Refused (bad input, unknown model, full queue, not serving): a plain error, no stream.
    MutexLock lock(&stream->mu);
    if (stream->done && !stream->status.ok() && stream->steps.empty()) {
      stream->call.StreamEnded(stream->status);
      return SetError(ToAbsl(stream->status), res);
    }
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // Proxies (nginx) pass events on at once.
  const std::string addr = req.remote_addr;
  const int port = req.remote_port;
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, stream, addr, port](size_t /*offset*/, httplib::DataSink& sink) {
        std::deque<SolveStep> steps;
        bool done = false;
        grpc::Status status;
        std::optional<SolveStep> final_step;
        {
          MutexLock lock(&stream->mu);
          if (stream->steps.empty() && !stream->done) {
            stream->ready.WaitUntil(&stream->mu, absl::Now() + kClientCheck);
          }
          steps.swap(stream->steps);
          done = stream->done;
          if (done) {
            status = stream->status;
            final_step = std::move(stream->final_step);
          }
        }
        if (steps.empty() && !done) {
          // Nothing to write, so no write can fail: look at the socket instead.
          return !connections_->PeerGone(addr, port);  // True: httplib calls again.
        }
        std::string out;
        for (const auto& step : steps) out += Event(ToJson(step));
        if (done) {
          out +=
              final_step ? Event(ToJson(*final_step)) : Event(ErrorJson(ToAbsl(status)), "error");
        }
        if (!sink.write(out.data(), out.size())) return false;
        if (done) {
          stream->finished = true;
          stream->call.StreamEnded(status);
          sink.done();
        }
        return true;
      },
      [stream](bool /*success*/) {
        // The response is gone, written or not: an unfinished call must free its batch slot,
        // and counts as the client saw it end.
        if (!stream->finished) {
          stream->call.Cancel();
          stream->call.StreamEnded(grpc::Status(grpc::StatusCode::CANCELLED, "client gone"));
        }
        stream->busy.reset();
      });
}

void HttpApi::Models(const httplib::Request&, httplib::Response& res) {
  const absl::Time start = absl::Now();
  trm::v1::ListModelsResponse response;
  for (const auto& info : context_->engine()->ListModels()) {
    ToProtoModelInfo(info, response.add_models());
  }
  Record("http:/v1/models", "", absl::StatusCode::kOk, start);
  res.set_content(ToJson(response), kJson);
}

void HttpApi::Example(const httplib::Request& req, httplib::Response& res) {
  static const std::string kMethod = "http:/v1/example";
  const absl::Time start = absl::Now();
  std::string model_label;
  const auto fail = [&](const absl::Status& status) {
    Record(kMethod, model_label, status.code(), start);
    SetError(status, res);
  };
  const std::string name = req.get_param_value("model");
  absl::StatusOr<engine::ModelInfo> model = absl::NotFoundError("");
  if (name.empty()) {
    // The default sudoku model, else the default maze model.
    model = context_->engine()->ResolveModel("", engine::TaskKind::kSudoku);
    if (!model.ok()) model = context_->engine()->ResolveModel("", engine::TaskKind::kMaze);
    if (!model.ok()) return fail(absl::NotFoundError("no model serves sudoku or maze puzzles"));
  } else {
    model = context_->engine()->GetModel(name);
    if (!model.ok()) {
      return fail(
          absl::NotFoundError(absl::StrCat("model \"", name.substr(0, 64), "\" is not loaded")));
    }
  }
  model_label = model->name;
  uint64_t seed = 0;
  if (req.has_param("seed")) {
    if (!absl::SimpleAtoi(req.get_param_value("seed"), &seed)) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          "seed \"", req.get_param_value("seed").substr(0, 32), "\" is not a whole number")));
    }
  } else {
    seed = std::random_device()();
  }
  auto example = ExamplePuzzle(*model, req.get_param_value("difficulty"), seed);
  if (!example.ok()) return fail(example.status());
  Record(kMethod, model_label, absl::StatusCode::kOk, start);
  res.set_content(ToJson(*example), kJson);
}

void HttpApi::Ready(const httplib::Request&, httplib::Response& res) {
  if (absl::Status available = context_->CheckAccepting(); !available.ok()) {
    return SetError(available, res);
  }
  res.set_content("{\"status\":\"ready\"}", kJson);
}

}  // namespace trm::server
