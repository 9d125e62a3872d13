#include "server/http_api.h"

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/http_json.h"
#include "server/puzzle_examples.h"
#include "server/solve_steps.h"

namespace trm::server {
namespace {

using trm::v1::SolveRequest;

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
          " (POST /v1/solve, POST /v1/solve:stream, GET /v1/models, GET /v1/example, GET "
          "/healthz, GET /readyz)"));
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

// Waits for the engine's answer to a Solve, cancelling it when the client goes.
struct PendingAnswer {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<engine::Result> result;  // Guarded by mu.
};

// A /v1/solve:stream in progress, shared by the engine's callbacks (scheduler thread) and the
// response's content provider (HTTP worker), which formats and writes the events.
struct StepStream {
  SolverService::Prepared prepared;
  std::string model_label;
  absl::Time start;
  std::shared_ptr<void> busy;  // The connection's HttpConnections mark, until the last write.
  std::unique_ptr<engine::RequestHandle> handle;
  std::vector<int32_t> last_tokens;  // HTTP worker only.
  bool finished = false;             // HTTP worker only: the last event went out.
  absl::Status status;               // HTTP worker only: what the metrics count.

  std::mutex mu;
  std::condition_variable cv;
  std::deque<engine::StepEvent> steps;   // Guarded by mu.
  std::optional<engine::Result> result;  // Guarded by mu.
};

}  // namespace

void SetError(const absl::Status& status, httplib::Response& res) {
  res.status = HttpStatusFor(status.code());
  res.set_content(ErrorJson(status), kJson);
}

HttpApi::HttpApi(SolverService* solver, engine::Engine* engine, Metrics* metrics, HttpServer* http)
    : solver_(solver), engine_(engine), metrics_(metrics), connections_(&http->connections()) {
  auto& routes = http->routes();
  routes.Post("/v1/solve", [this](const auto& req, auto& res) { Solve(req, res); });
  routes.Post("/v1/solve:stream", [this](const auto& req, auto& res) { SolveStream(req, res); });
  routes.Get("/v1/models", [this](const auto& req, auto& res) { Models(req, res); });
  routes.Get("/v1/example", [this](const auto& req, auto& res) { Example(req, res); });
  routes.Get("/healthz",
             [](const auto&, auto& res) { res.set_content("{\"status\":\"ok\"}", kJson); });
  routes.Get("/readyz", [this](const auto& req, auto& res) { Ready(req, res); });
  routes.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        // Our handlers' errors already have a body; the library's (no route, 413, ...) get one
        // here.
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const int status = res.status;
        SetError(LibraryError(req, status), res);
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
  metrics_->RecordRequest(method, model, absl::StatusCodeToString(code),
                          absl::ToDoubleSeconds(absl::Now() - start));
}

absl::StatusOr<SolverService::Prepared> HttpApi::Prepare(const httplib::Request& req,
                                                         std::string* model_label) {
  model_label->clear();
  SolveRequest request;
  if (absl::Status s = ParseJson(req.body, &request); !s.ok()) return s;
  absl::Time deadline = absl::InfiniteFuture();
  if (req.has_header("Grpc-Timeout")) {
    auto timeout = ParseGrpcTimeout(req.get_header_value("Grpc-Timeout"));
    if (!timeout.ok()) return timeout.status();
    deadline = absl::Now() + *timeout;
  }
  return solver_->Prepare(request, deadline, model_label);
}

void HttpApi::Solve(const httplib::Request& req, httplib::Response& res) {
  static const std::string kMethod = "http:/v1/solve";
  const absl::Time start = absl::Now();
  std::string model_label;
  const auto fail = [&](const absl::Status& status) {
    Record(kMethod, model_label, status.code(), start);
    SetError(status, res);
  };
  auto busy = connections_->Busy(req.remote_addr, req.remote_port);
  auto prepared = Prepare(req, &model_label);
  if (!prepared.ok()) return fail(prepared.status());
  auto pending = std::make_shared<PendingAnswer>();
  auto handle = solver_->Submit(*prepared, nullptr, [pending](engine::Result result) {
    std::lock_guard lock(pending->mu);
    pending->result = std::move(result);
    pending->cv.notify_all();
  });
  if (!handle.ok()) return fail(handle.status());
  bool client_gone = false;
  std::unique_lock lock(pending->mu);
  while (!pending->result) {
    if (pending->cv.wait_for(lock, absl::ToChronoMilliseconds(kClientCheck),
                             [&] { return pending->result.has_value(); })) {
      break;
    }
    lock.unlock();
    if (!client_gone && connections_->PeerGone(req.remote_addr, req.remote_port)) {
      client_gone = true;
      (*handle)->Cancel();  // The engine answers CANCELLED at its next step boundary.
    }
    lock.lock();
  }
  const engine::Result result = std::move(*pending->result);
  lock.unlock();
  trm::v1::SolveResponse response;
  const absl::Status status = ToAbsl(solver_->FillResponse(*prepared, result, &response));
  if (!status.ok()) return fail(status);
  Record(kMethod, model_label, absl::StatusCode::kOk, start);
  res.set_content(ToJson(response), kJson);
}

void HttpApi::SolveStream(const httplib::Request& req, httplib::Response& res) {
  static const std::string kMethod = "http:/v1/solve:stream";
  auto stream = std::make_shared<StepStream>();
  stream->start = absl::Now();
  stream->busy = connections_->Busy(req.remote_addr, req.remote_port);
  auto prepared = Prepare(req, &stream->model_label);
  const auto fail = [&](const absl::Status& status) {
    Record(kMethod, stream->model_label, status.code(), stream->start);
    SetError(status, res);
  };
  if (!prepared.ok()) return fail(prepared.status());
  stream->prepared = std::move(*prepared);
  // The callbacks hold the stream: the engine may answer after the client has gone.
  auto handle = solver_->Submit(
      stream->prepared,
      [stream](const engine::StepEvent& event) {
        if (event.final) return;  // Sent with the result.
        std::lock_guard lock(stream->mu);
        stream->steps.push_back(event);
        stream->cv.notify_all();
      },
      [stream](engine::Result result) {
        std::lock_guard lock(stream->mu);
        stream->result = std::move(result);
        stream->cv.notify_all();
      });
  if (!handle.ok()) return fail(handle.status());
  stream->handle = std::move(*handle);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // Proxies (nginx) pass events on at once.
  const std::string addr = req.remote_addr;
  const int port = req.remote_port;
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, stream, addr, port](size_t /*offset*/, httplib::DataSink& sink) {
        std::deque<engine::StepEvent> steps;
        std::optional<engine::Result> result;
        {
          std::unique_lock lock(stream->mu);
          stream->cv.wait_for(lock, absl::ToChronoMilliseconds(kClientCheck),
                              [&] { return !stream->steps.empty() || stream->result.has_value(); });
          steps.swap(stream->steps);
          if (stream->result) result = std::move(stream->result);
        }
        if (steps.empty() && !result) {
          // Nothing to write, so no write can fail: look at the socket instead.
          if (connections_->PeerGone(addr, port)) {
            stream->status = absl::CancelledError("stream closed by the client");
            return false;
          }
          return true;  // httplib calls again.
        }
        std::string out;
        for (const auto& event : steps) {
          out += Event(ToJson(StepMessage(stream->prepared.puzzle, event)));
          stream->last_tokens = event.answer_tokens;
        }
        if (result) {
          trm::v1::SolveStep final_step;
          stream->status =
              ToAbsl(solver_->FillResponse(stream->prepared, *result, final_step.mutable_result()));
          if (stream->status.ok()) {
            CompleteFinalStep(*result, stream->last_tokens, &final_step);
            out += Event(ToJson(final_step));
          } else {
            out += Event(ErrorJson(stream->status), "error");
          }
        }
        if (!sink.write(out.data(), out.size())) {
          stream->status = absl::CancelledError("stream closed by the client");
          return false;
        }
        if (result) {
          stream->finished = true;
          sink.done();
        }
        return true;
      },
      [this, stream](bool /*success*/) {
        // The response is gone, written or not: an unfinished request must free its slot.
        if (!stream->finished) {
          stream->handle->Cancel();
          if (stream->status.ok()) stream->status = absl::CancelledError("stream not finished");
        }
        Record(kMethod, stream->model_label, stream->status.code(), stream->start);
        stream->busy.reset();
      });
}

void HttpApi::Models(const httplib::Request&, httplib::Response& res) {
  const absl::Time start = absl::Now();
  trm::v1::ListModelsResponse response;
  for (const auto& info : engine_->ListModels()) ToProtoModelInfo(info, response.add_models());
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
    model = engine_->ResolveModel("", engine::TaskKind::kSudoku);
    if (!model.ok()) model = engine_->ResolveModel("", engine::TaskKind::kMaze);
    if (!model.ok()) return fail(absl::NotFoundError("no model serves sudoku or maze puzzles"));
  } else {
    for (const auto& info : engine_->ListModels()) {
      if (info.name == name) model = info;
    }
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
  if (absl::Status available = solver_->Availability(); !available.ok()) {
    return SetError(available, res);
  }
  res.set_content("{\"status\":\"ready\"}", kJson);
}

}  // namespace trm::server
