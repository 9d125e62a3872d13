// POST /v1/arc:run (HttpApi::ArcRun): an ARC Prize challenges file run on the server, streamed
// back as server-sent events. Each test input is a SolveCall like any /v1/solve (limits, fair
// share, metrics under "http:/v1/arc:run"), at most `concurrency` of them in flight; a call's done
// handler records its attempts in the run (puzzle/arc_run.h) and starts the next. Nothing here
// blocks an engine thread, and only the HTTP worker that owns the response waits (on events).
#include <httplib.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/sync.h"
#include "nlohmann/json.hpp"
#include "puzzle/arc_run.h"
#include "server/grpc_status.h"
#include "server/http/http_api.h"
#include "server/http/http_json.h"
#include "server/request_codec.h"
#include "server/solve_call.h"

namespace trm::server {
namespace {

constexpr char kMethod[] = "http:/v1/arc:run";
constexpr int kDefaultConcurrency = 4;
constexpr int kMaxConcurrency = 16;
// How often the response's writer, with nothing to write, looks whether its client is there.
constexpr absl::Duration kClientCheck = absl::Milliseconds(100);

std::string Event(const std::string& json, const char* name) {
  return absl::StrCat("event: ", name, "\ndata: ", json, "\n\n");
}

// What the body asks for.
struct ArcRunRequest {
  std::string challenges;  // JSON text of the ARC Prize challenges object.
  std::string solutions;   // Empty: not scored.
  std::string model;
  int augmentations = 0;
  int concurrency = kDefaultConcurrency;
  bool fit = true;  // Send each task's train pairs: unseen tasks are fitted (ArcQuery.train).
};

absl::StatusOr<ArcRunRequest> ParseArcRunRequest(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(
        "body: expected a JSON object {\"challenges\": {...}, \"solutions\": {...}, \"model\": "
        "\"...\", \"arc_augmentations\": N, \"concurrency\": N, \"fit\": true}");
  }
  ArcRunRequest r;
  for (const auto& [key, value] : j.items()) {
    if (key == "challenges" || key == "solutions") {
      if (!value.is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat(key, ": expected an object of task id -> ",
                         key == "challenges" ? "task (an ARC Prize challenges file)" : "grids"));
      }
      (key == "challenges" ? r.challenges : r.solutions) = value.dump();
    } else if (key == "model") {
      if (!value.is_string()) return absl::InvalidArgumentError("model: expected a string");
      r.model = value.get<std::string>();
    } else if (key == "fit") {
      if (!value.is_boolean()) return absl::InvalidArgumentError("fit: expected true or false");
      r.fit = value.get<bool>();
    } else if (key == "arc_augmentations" || key == "concurrency") {
      if (!value.is_number_integer()) {
        return absl::InvalidArgumentError(absl::StrCat(key, ": expected an integer"));
      }
      const int64_t v = value.get<int64_t>();
      if (key == "concurrency" && (v < 1 || v > kMaxConcurrency)) {
        return absl::InvalidArgumentError(
            absl::StrCat("concurrency: ", v, " is outside 1..", kMaxConcurrency));
      }
      if (key == "arc_augmentations" && (v < 0 || v > 1 << 16)) {
        return absl::InvalidArgumentError(absl::StrCat("arc_augmentations: ", v,
                                                       " is negative"
                                                       " or absurd"));
      }
      (key == "concurrency" ? r.concurrency : r.augmentations) = static_cast<int>(v);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("body: unknown field \"", key.substr(0, 64),
                       "\" (challenges, solutions, model, arc_augmentations, concurrency, fit)"));
    }
  }
  if (r.challenges.empty()) return absl::InvalidArgumentError("body: no \"challenges\"");
  return r;
}

// A run in progress, shared by its calls' done handlers (completion threads, or the starting
// thread for a call refused at once) and the response's content provider (the HTTP worker).
class ArcRunStream : public std::enable_shared_from_this<ArcRunStream> {
 public:
  ArcRunStream(SolveContext* context, puzzle::ArcTaskFile file, const ArcRunRequest& request,
               absl::Time deadline, std::string client)
      : context_(context),
        run_(std::move(file)),
        model_(request.model),
        augmentations_(request.augmentations),
        fit_(request.fit),
        concurrency_(request.concurrency),
        deadline_(deadline),
        client_(std::move(client)) {
    MutexLock lock(&mu_);
    for (const puzzle::ArcTaskError& e : run_.errors()) {
      events_.push_back(Event(nlohmann::json{{"task_id", e.task_id}, {"message", e.message}}.dump(),
                              "task_error"));
    }
  }

  // Starts calls until `concurrency` are in flight or no job is left. A thread that finds
  // another pumping leaves the work to it (a call refused inside Start answers on the starting
  // thread, which is the pumping one).
  void Pump() {
    {
      MutexLock lock(&mu_);
      more_ = true;
      if (pumping_) return;
      pumping_ = true;
    }
    for (;;) {
      std::optional<puzzle::ArcRun::Job> job;
      std::shared_ptr<SolveCall> call;
      {
        MutexLock lock(&mu_);
        if (!cancelled_ && in_flight_ < concurrency_) job = run_.Take();
        if (!job) {
          if (!more_) {
            pumping_ = false;
            return;
          }
          more_ = false;
          continue;
        }
        ++in_flight_;
        call = std::make_shared<SolveCall>(context_, kMethod);
        call->set_client(client_);
        calls_[Key(*job)] = call;
      }
      Start(*job, call);
    }
  }

  // The client left: no new call, and the ones in flight free their batch slots.
  void Cancel() {
    std::vector<std::shared_ptr<SolveCall>> calls;
    {
      MutexLock lock(&mu_);
      cancelled_ = true;
      for (auto& [key, call] : calls_) calls.push_back(call);
    }
    for (auto& call : calls) call->Cancel();
  }

  // Waits up to `wait` for events; takes them, and says whether the run has ended (the last
  // event, the result, is among them or was taken before).
  std::deque<std::string> TakeEvents(absl::Duration wait, bool* ended) {
    MutexLock lock(&mu_);
    if (events_.empty() && !ended_) ready_.WaitUntil(&mu_, absl::Now() + wait);
    std::deque<std::string> out;
    out.swap(events_);
    *ended = ended_;
    return out;
  }

 private:
  // A call in flight, by its job.
  static std::pair<size_t, size_t> Key(const puzzle::ArcRun::Job& job) {
    return {job.task, job.test};
  }

  void Start(puzzle::ArcRun::Job job, const std::shared_ptr<SolveCall>& call) {
    const puzzle::ArcTask& task = run_.tasks()[job.task];
    const puzzle::ArcGrid& input = task.test[job.test].input;
    trm::v1::SolveRequest request;
    request.set_model(model_);
    request.mutable_arc()->set_task_id(task.id);
    ToProtoGrid(input, request.mutable_arc()->mutable_input());
    if (fit_) {
      for (const puzzle::ArcExample& pair : task.train) {
        trm::v1::ArcPair* p = request.mutable_arc()->add_train();
        ToProtoGrid(pair.input, p->mutable_input());
        if (pair.output) ToProtoGrid(*pair.output, p->mutable_output());
      }
    }
    request.mutable_options()->set_arc_augmentations(augmentations_);
    request.mutable_options()->set_arc_attempts(2);  // The ARC Prize scores two attempts.
    const absl::Time start = absl::Now();
    // The handler holds the stream (the client may be gone when the engine answers) and the
    // call: Done drops the stream's own reference to the call, which must outlive the handler
    // it is running. SolveCall releases its handlers once done, so neither is held for longer.
    call->Start(request, deadline_, nullptr,
                [self = shared_from_this(), call, job, start](const grpc::Status& status,
                                                              trm::v1::SolveResponse response) {
                  self->Done(job, status, response,
                             absl::ToDoubleMilliseconds(absl::Now() - start));
                });
  }

  void Done(puzzle::ArcRun::Job job, const grpc::Status& status,
            const trm::v1::SolveResponse& response, double ms) {
    std::vector<puzzle::ArcGrid> attempts;
    std::string error;
    if (!status.ok()) {
      error = absl::StrCat(GrpcCodeName(status.error_code()), ": ", status.error_message());
    }
    for (const auto& attempt : response.arc_attempts()) {  // Empty unless OK.
      const auto& g = attempt.grid();
      auto grid = puzzle::ArcGridFromCells(
          g.rows(), g.cols(), std::span<const int32_t>(g.cells().data(), g.cells().size()));
      if (!grid.ok()) {
        error = "INTERNAL: an attempt is not a grid: " + grid.error().message;
        attempts.clear();
        break;
      }
      attempts.push_back(std::move(grid).value());
    }
    {
      // Recorded and published under one lock: calls answered at once on two completion threads
      // must not publish their progress out of order, nor both see the run done.
      MutexLock lock(&mu_);
      const puzzle::ArcRunProgress progress = run_.Record(
          job, std::move(attempts), std::move(error), response.steps(), ms, response.model());
      --in_flight_;
      calls_.erase(Key(job));
      events_.push_back(Event(puzzle::ArcProgressJson(progress), "progress"));
      if (run_.done()) {
        const puzzle::ArcRunResult result = run_.Result();
        events_.push_back(Event(absl::StrCat("{\"submission\":", puzzle::ArcSubmissionJson(result),
                                             ",\"report\":", puzzle::ArcReportJson(result), "}"),
                                "result"));
        ended_ = true;
      }
      ready_.SignalAll();
    }
    Pump();
  }

  SolveContext* const context_;
  puzzle::ArcRun run_;
  const std::string model_;
  const int augmentations_;
  const bool fit_;
  const int concurrency_;
  const absl::Time deadline_;
  const std::string client_;

  Mutex mu_;
  CondVar ready_;
  std::deque<std::string> events_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  bool more_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<size_t, size_t>, std::shared_ptr<SolveCall>> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void HttpApi::ArcRun(const httplib::Request& req, httplib::Response& res) {
  const absl::Time start = absl::Now();
  auto busy =
      std::make_shared<std::shared_ptr<void>>(connections_->Busy(req.remote_addr, req.remote_port));
  const auto fail = [&](const absl::Status& status) {
    Record(kMethod, "", status.code(), start);
    SetError(status, res);
  };
  if (absl::Status available = context_->CheckAccepting(); !available.ok()) return fail(available);
  absl::StatusOr<ArcRunRequest> request = ParseArcRunRequest(req.body);
  if (!request.ok()) return fail(request.status());
  absl::Time deadline = absl::InfiniteFuture();
  if (req.has_header("Grpc-Timeout")) {
    absl::StatusOr<absl::Duration> timeout = ParseGrpcTimeout(req.get_header_value("Grpc-Timeout"));
    if (!timeout.ok()) return fail(timeout.status());
    deadline = start + *timeout;
  }
  auto file = puzzle::ParseArcTaskFile(request->challenges, request->solutions);
  if (!file.ok()) return fail(absl::InvalidArgumentError(file.error().message));
  if (file->tasks.empty()) {
    return fail(absl::InvalidArgumentError(
        file->errors.empty() ? std::string("challenges: no task")
                             : absl::StrCat("challenges: no task can run; the first fault: ",
                                            file->errors[0].message)));
  }
  auto stream =
      std::make_shared<ArcRunStream>(context_, *std::move(file), *request, deadline,
                                     absl::StrCat("http:", req.remote_addr, ":", req.remote_port));
  stream->Pump();
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // Proxies (nginx) pass events on at once.
  const std::string addr = req.remote_addr;
  const int port = req.remote_port;
  auto finished = std::make_shared<bool>(false);  // HTTP worker only.
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, stream, addr, port, finished](size_t /*offset*/, httplib::DataSink& sink) {
        bool ended = false;
        std::deque<std::string> events = stream->TakeEvents(kClientCheck, &ended);
        if (events.empty() && !ended) return !connections_->PeerGone(addr, port);
        std::string out;
        for (const std::string& e : events) out += e;
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (ended) {
          *finished = true;
          sink.done();
        }
        return true;
      },
      [stream, finished, busy](bool /*success*/) {
        if (!*finished) stream->Cancel();  // The client left: free the calls' batch slots.
        busy->reset();
      });
}

}  // namespace trm::server
