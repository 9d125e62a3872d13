// trm.v1 over HTTP/JSON, beside gRPC and with the same semantics: each solve is a SolveCall (the
// gRPC reactors' own request-to-engine-to-response path), so limits, defaults, verification,
// cancellation, status codes and metrics are the gRPC path's.
//
//   POST /v1/solve          SolveRequest -> SolveResponse
//   POST /v1/solve:stream   SolveRequest -> Server-Sent Events, one SolveStep per `data:` line, the
//                           last with `final` and `result`; a request refused before the stream
//                           begins gets the plain JSON error, an error after it began is an
//                           `event: error` with {"code", "message"}
//   POST /v1/arc:run        {"challenges": {ARC Prize challenges}, "solutions": {...} (optional),
//                           "model", "arc_augmentations", "concurrency" (1..16, default 4)} ->
//                           Server-Sent Events: `task_error` {"task_id", "message"} for each task
//                           the file cannot give, `progress` {"tasks_done", "tasks_total",
//                           "tests_done", "tests_total", "tests_solved", "elapsed_s"} after each
//                           test input, and last `result` {"submission": ARC Prize submission,
//                           "report": per-task report and score} (puzzle/arc_run.h); a body that
//                           cannot run gets the plain JSON error
//   GET  /v1/models         ListModelsResponse
//   GET  /v1/example        ?model=NAME&difficulty=easy|medium|hard&seed=N -> a SolveRequest
//   GET  /healthz           200 while the process serves HTTP (liveness)
//   GET  /readyz            200 once every model is loaded, 503 while loading or draining
//
// Errors are {"code": "INVALID_ARGUMENT", "message": ...} with the HTTP status grpc-gateway gives
// the gRPC code (server/http/http_json.h). A `Grpc-Timeout` header sets the deadline. A client that
// disconnects cancels its engine request, which frees its batch slot.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/http/http_server.h"
#include "server/solve_context.h"
#include "trm/v1/solver.pb.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace trm::server {

class HttpApi {
 public:
  // Both must outlive the API: `context` is the solve path's (shared with gRPC's SolverService),
  // `http` is where its routes go (register before http->Start()). `max_arc_run_bytes` bounds
  // POST /v1/arc:run's body (a whole challenges file) where the server's limit bounds the rest.
  HttpApi(SolveContext* context, HttpServer* http, size_t max_arc_run_bytes = 16 << 20);
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Implementation details follow.
 private:
  void Solve(const httplib::Request& req, httplib::Response& res);
  void SolveStream(const httplib::Request& req, httplib::Response& res);
  void ArcRun(const httplib::Request& req, httplib::Response& res);  // http_arc_run.cc
  void Models(const httplib::Request& req, httplib::Response& res);
  void Example(const httplib::Request& req, httplib::Response& res);
  void Ready(const httplib::Request& req, httplib::Response& res);

  // The request from the JSON body, and the deadline from a Grpc-Timeout header (InfiniteFuture:
  // none). A failure is counted in the metrics under `method` here; SolveCall counts the rest.
  absl::Status ParseSolve(const httplib::Request& req, const std::string& method, absl::Time start,
                          trm::v1::SolveRequest* request, absl::Time* deadline);
  void Record(const std::string& method, const std::string& model, absl::StatusCode code,
              absl::Time start);

  SolveContext* const context_;
  HttpConnections* const connections_;
};

// Writes `status` as the JSON error body with its HTTP status.
void SetError(const absl::Status& status, httplib::Response& res);

}  // namespace trm::server
