// trm-client: solve puzzles, list models, check health, reload models and load-test trm-server.
//
//   trm-client solve sudoku "<81 chars>" | --file F     trm-client solve maze FILE
//   trm-client solve arc --task ID --input GRID.json     trm-client solve tokens --model M 1,2,3
//   trm-client models | health [--service NAME] | reload NAME PATH
//   trm-client bench --task sudoku|maze|tokens|arc [--file F] --concurrency N --requests
//   N|--duration_s S
//   trm-client arc run CHALLENGES.json [--solutions SOLUTIONS.json] --out submission.json
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/program_flags.h"
#include "client/arc_run.h"
#include "client/bench.h"
#include "client/channel.h"
#include "client/render.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "puzzle/arc_json.h"
#include "puzzle/arc_run.h"
#include "puzzle/maze_generator.h"
#include "puzzle/puzzle_file.h"
#include "puzzle/sudoku_generator.h"
#include "trm/v1/solver.grpc.pb.h"

ABSL_FLAG(std::string, target, "localhost:50051",
          "gRPC target: host:port, dns:///host:port, ipv4:a:p,b:p, unix:path");
ABSL_FLAG(std::string, lb_policy, "round_robin", "round_robin or pick_first");
ABSL_FLAG(bool, tls, false, "Use TLS (implied by --tls_ca / --tls_cert)");
ABSL_FLAG(std::string, tls_ca, "", "PEM roots for the server certificate");
ABSL_FLAG(std::string, tls_cert, "", "Client certificate (mutual TLS)");
ABSL_FLAG(std::string, tls_key, "", "Client key (mutual TLS)");
ABSL_FLAG(std::string, tls_server_name, "", "Name to check the server certificate against");
ABSL_FLAG(std::string, model, "", "Model name; empty: the server's default for the puzzle kind");
ABSL_FLAG(std::string, file, "", "solve sudoku: puzzle file (first puzzle); bench: puzzles file");
ABSL_FLAG(std::string, task, "",
          "solve arc: the ARC task id; bench: the puzzle kind (sudoku, maze, arc, tokens)");
ABSL_FLAG(std::string, input, "", "solve arc / bench arc: the test input grid, JSON rows");
ABSL_FLAG(std::string, arc_task, "", "bench arc: the ARC task id");
ABSL_FLAG(int, puzzle_id, 0, "solve tokens: puzzle identifier");
ABSL_FLAG(bool, stream, false, "solve: show every ACT step live (SolveSteps)");
ABSL_FLAG(bool, json, false, "Machine-readable output (JSON; one object per line with --stream)");
ABSL_FLAG(int, max_steps, 0, "ACT max steps (0: model default)");
ABSL_FLAG(int, min_steps, 0, "ACT min steps (0: default)");
ABSL_FLAG(bool, ignore_halting, false, "Run exactly max_steps");
ABSL_FLAG(double, halt_threshold, 0, "Halting threshold (0: server default)");
ABSL_FLAG(int, dihedral_views, 0,
          "Sudoku/maze: solve in this many rotations/reflections, which vote (0: the model's "
          "default)");
ABSL_FLAG(bool, exact_fallback, false, "Exact solver answer when the model's fails verification");
ABSL_FLAG(int, arc_augmentations, 0, "ARC augmented variants (0: server default)");
ABSL_FLAG(int, arc_attempts, 0, "ARC attempts returned (0: 2)");
ABSL_FLAG(std::string, request_id, "", "Request id echoed by the server");
ABSL_FLAG(double, timeout_s, 60, "Per-call deadline in seconds");
ABSL_FLAG(std::string, service, "", "health: service name (a model name; empty: overall)");
ABSL_FLAG(std::string, admin_token, "", "reload: admin token (or $TRM_ADMIN_TOKEN)");
ABSL_FLAG(int, concurrency, 4, "bench, arc run: calls in flight");
ABSL_FLAG(bool, arc_fit, true,
          "arc run: send each task's train pairs, so the server fits tasks its model was not "
          "trained on (the official test-time path) instead of answering NOT_FOUND");
ABSL_FLAG(std::string, solutions, "", "arc run: the solutions file; the run is scored");
ABSL_FLAG(std::string, out, "submission.json", "arc run: where the submission is written");
ABSL_FLAG(std::string, report, "",
          "arc run: where the per-task JSON report is written (default: OUT's name with "
          "_report.json)");
ABSL_FLAG(int64_t, requests, 0, "bench: number of calls (0: use --duration_s; both 0: 100)");
ABSL_FLAG(double, duration_s, 0, "bench: run this long");
ABSL_FLAG(int, puzzles, 32, "bench: generated puzzles when no --file");
ABSL_FLAG(uint64_t, seed, 1, "bench: generator seed");

namespace {

using trm::v1::SolveRequest;

int Fail(const std::string& message, int code = 2) {
  std::cerr << "trm-client: " << message << "\n";
  return code;
}

int RpcFail(const grpc::Status& status) {
  std::cerr << "error: "
            << absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())) << ": "
            << status.error_message() << "\n";
  return 1;
}

void SetDeadline(grpc::ClientContext* context, double seconds) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

void FillOptions(SolveRequest* r) {
  auto* o = r->mutable_options();
  o->set_max_steps(absl::GetFlag(FLAGS_max_steps));
  o->set_min_steps(absl::GetFlag(FLAGS_min_steps));
  o->set_ignore_halting(absl::GetFlag(FLAGS_ignore_halting));
  o->set_halt_threshold(static_cast<float>(absl::GetFlag(FLAGS_halt_threshold)));
  o->set_exact_fallback(absl::GetFlag(FLAGS_exact_fallback));
  o->set_dihedral_views(absl::GetFlag(FLAGS_dihedral_views));
  o->set_arc_augmentations(absl::GetFlag(FLAGS_arc_augmentations));
  o->set_arc_attempts(absl::GetFlag(FLAGS_arc_attempts));
  r->set_model(absl::GetFlag(FLAGS_model));
  r->set_request_id(absl::GetFlag(FLAGS_request_id));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  auto text = trm::puzzle::ReadTextFile(path);
  if (!text.ok()) return absl::NotFoundError(text.error().message);
  return *text;
}

std::vector<std::string> MazeRows(const std::string& text) {
  std::vector<std::string> rows = absl::StrSplit(text, '\n');
  for (auto& row : rows) {
    if (!row.empty() && row.back() == '\r') row.pop_back();
  }
  while (!rows.empty() && rows.back().empty()) rows.pop_back();
  return rows;
}

// JSON rows ("[[0,1],[2,3]]") into a Grid; shape problems are left to the server to report.
absl::Status ParseGridJson(const std::string& text, trm::v1::Grid* grid) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.empty() || !j[0].is_array()) {
    return absl::InvalidArgumentError("--input: expected JSON rows like [[0,1],[2,3]]");
  }
  grid->set_rows(static_cast<int>(j.size()));
  grid->set_cols(static_cast<int>(j[0].size()));
  for (const auto& row : j) {
    if (!row.is_array()) return absl::InvalidArgumentError("--input: a row is not an array");
    for (const auto& v : row) {
      if (!v.is_number_integer())
        return absl::InvalidArgumentError("--input: a cell is not an integer");
      grid->add_cells(v.get<int>());
    }
  }
  return absl::OkStatus();
}

// The request for `solve KIND ARGS...`.
absl::StatusOr<SolveRequest> BuildSolveRequest(const std::vector<std::string>& args) {
  if (args.empty())
    return absl::InvalidArgumentError("solve: which kind? sudoku, maze, arc or tokens");
  SolveRequest r;
  const std::string& kind = args[0];
  if (kind == "sudoku") {
    if (args.size() > 1) {
      r.set_sudoku(args[1]);
    } else if (!absl::GetFlag(FLAGS_file).empty()) {
      auto text = ReadFile(absl::GetFlag(FLAGS_file));
      if (!text.ok()) return text.status();
      auto records = trm::puzzle::SplitSudokuFile(*text);
      if (records.empty())
        return absl::InvalidArgumentError("--file: no puzzle in " + absl::GetFlag(FLAGS_file));
      r.set_sudoku(records[0].text);
    } else {
      return absl::InvalidArgumentError("solve sudoku: give the puzzle (81 chars) or --file");
    }
  } else if (kind == "maze") {
    const std::string path = args.size() > 1 ? args[1] : absl::GetFlag(FLAGS_file);
    if (path.empty()) return absl::InvalidArgumentError("solve maze: give the maze FILE");
    auto text = ReadFile(path);
    if (!text.ok()) return text.status();
    for (auto& row : MazeRows(*text)) r.mutable_maze()->add_rows(row);
  } else if (kind == "arc") {
    r.mutable_arc()->set_task_id(absl::GetFlag(FLAGS_task));
    if (absl::GetFlag(FLAGS_input).empty())
      return absl::InvalidArgumentError("solve arc: --input GRID.json is required");
    auto text = ReadFile(absl::GetFlag(FLAGS_input));
    if (!text.ok()) return text.status();
    if (auto s = ParseGridJson(*text, r.mutable_arc()->mutable_input()); !s.ok()) return s;
  } else if (kind == "tokens") {
    if (args.size() < 2)
      return absl::InvalidArgumentError("solve tokens: give the tokens, e.g. 1,2,3");
    for (absl::string_view t : absl::StrSplit(args[1], absl::ByAnyChar(", "), absl::SkipEmpty())) {
      int v;
      if (!absl::SimpleAtoi(t, &v))
        return absl::InvalidArgumentError(
            absl::StrCat("solve tokens: \"", t, "\" is not an integer"));
      r.mutable_tokens()->add_tokens(v);
    }
    r.mutable_tokens()->set_puzzle_identifier(absl::GetFlag(FLAGS_puzzle_id));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("solve: unknown kind \"", kind, "\" (sudoku, maze, arc, tokens)"));
  }
  FillOptions(&r);
  return r;
}

int MazeSideOf(trm::v1::Solver::Stub& stub, const std::string& model, const std::string& task) {
  grpc::ClientContext context;
  SetDeadline(&context, 5);
  trm::v1::ListModelsResponse models;
  if (!stub.ListModels(&context, {}, &models).ok()) return 30;
  for (const auto& m : models.models()) {
    if ((model.empty() && m.is_default() && m.task() == task) || m.name() == model) {
      return m.maze_side() > 0 ? m.maze_side() : 30;
    }
  }
  return 30;
}

int Solve(const std::shared_ptr<grpc::Channel>& channel, const std::vector<std::string>& args) {
  auto request = BuildSolveRequest(args);
  if (!request.ok()) return Fail(std::string(request.status().message()));
  auto stub = trm::v1::Solver::NewStub(channel);
  const bool json = absl::GetFlag(FLAGS_json);
  const bool tty = isatty(STDOUT_FILENO);
  trm::client::RenderOptions render{.color = tty};
  const int side = request->has_maze() ? MazeSideOf(*stub, request->model(), "maze") : 30;
  grpc::ClientContext context;
  SetDeadline(&context, absl::GetFlag(FLAGS_timeout_s));
  if (!absl::GetFlag(FLAGS_stream)) {
    trm::v1::SolveResponse response;
    grpc::Status status = stub->Solve(&context, *request, &response);
    if (!status.ok()) return RpcFail(status);
    std::cout << (json ? ToJson(response) : trm::client::SummarizeResponse(response, side, render))
              << "\n";
    return 0;
  }
  auto reader = stub->SolveSteps(&context, *request);
  trm::v1::SolveStep step;
  size_t previous_lines = 0;
  while (reader->Read(&step)) {
    if (json) {
      std::cout << ToJson(step) << std::endl;
      continue;
    }
    auto lines = trm::client::RenderStep(step, side, render);
    // Redraw in place on a terminal: move up over the previous frame and overwrite it.
    if (tty && previous_lines > 0) std::cout << "\x1b[" << previous_lines << "A";
    for (const auto& line : lines) std::cout << (tty ? "\x1b[2K" : "") << line << "\n";
    if (!tty) std::cout << "\n";
    std::cout.flush();
    previous_lines = lines.size();
    if (step.final()) {
      std::cout << trm::client::SummarizeResponse(step.result(), side, render) << "\n";
    }
  }
  grpc::Status status = reader->Finish();
  return status.ok() ? 0 : RpcFail(status);
}

int Models(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = trm::v1::Solver::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, absl::GetFlag(FLAGS_timeout_s));
  trm::v1::ListModelsResponse response;
  grpc::Status status = stub->ListModels(&context, {}, &response);
  if (!status.ok()) return RpcFail(status);
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  for (const auto& m : response.models()) {
    std::cout << m.name() << (m.is_default() ? " (default)" : "") << "  task " << m.task()
              << "  version " << m.version() << "  device " << m.device() << "  seq_len "
              << m.seq_len() << "  vocab " << m.vocab_size() << "  halt_max_steps "
              << m.halt_max_steps() << "  halt_threshold " << m.halt_threshold()
              << "  dihedral_views " << m.dihedral_views() << "  parameters " << m.parameters()
              << "\n";
  }
  return 0;
}

int Health(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, std::min(absl::GetFlag(FLAGS_timeout_s), 10.0));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return RpcFail(status);
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << nlohmann::json{{"service", request.service()}, {"status", name}}.dump() << "\n";
  } else {
    std::cout << name << "\n";
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

int Reload(const std::shared_ptr<grpc::Channel>& channel, const std::vector<std::string>& args) {
  if (args.size() != 2) return Fail("reload: give NAME and CHECKPOINT_PATH");
  std::string token = absl::GetFlag(FLAGS_admin_token);
  if (token.empty() && std::getenv("TRM_ADMIN_TOKEN")) token = std::getenv("TRM_ADMIN_TOKEN");
  auto stub = trm::v1::Admin::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, absl::GetFlag(FLAGS_timeout_s));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  trm::v1::ReloadModelRequest request;
  request.set_name(args[0]);
  request.set_checkpoint_path(args[1]);
  trm::v1::ReloadModelResponse response;
  grpc::Status status = stub->ReloadModel(&context, request, &response);
  if (!status.ok()) return RpcFail(status);
  std::cout << (absl::GetFlag(FLAGS_json) ? ToJson(response)
                                          : absl::StrCat("reloaded ", response.model().name(),
                                                         " version ", response.model().version()))
            << "\n";
  return 0;
}

absl::StatusOr<std::vector<SolveRequest>> BenchPuzzles(trm::v1::Solver::Stub& stub) {
  const std::string kind = absl::GetFlag(FLAGS_task).empty() ? "sudoku" : absl::GetFlag(FLAGS_task);
  const std::string file = absl::GetFlag(FLAGS_file);
  const int n = std::max(1, absl::GetFlag(FLAGS_puzzles));
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  std::vector<SolveRequest> out;
  if (kind == "sudoku") {
    if (!file.empty()) {
      auto text = ReadFile(file);
      if (!text.ok()) return text.status();
      for (const auto& rec : trm::puzzle::SplitSudokuFile(*text))
        out.emplace_back().set_sudoku(rec.text);
    } else {
      trm::puzzle::SudokuGenerator gen({.seed = seed, .min_givens = 30, .max_givens = 40});
      for (int i = 0; i < n; ++i) {
        auto p = gen.Next();
        if (!p.ok()) return absl::InternalError(p.error().message);
        out.emplace_back().set_sudoku(trm::puzzle::SudokuToString(p->puzzle));
      }
    }
  } else if (kind == "maze") {
    if (!file.empty()) {
      auto text = ReadFile(file);
      if (!text.ok()) return text.status();
      for (const auto& rec : trm::puzzle::SplitMazeFile(*text)) {
        auto& r = out.emplace_back();
        for (auto& row : MazeRows(rec.text)) r.mutable_maze()->add_rows(row);
      }
    } else {
      trm::puzzle::MazeGeneratorOptions o;
      o.seed = seed;
      o.side = MazeSideOf(stub, absl::GetFlag(FLAGS_model), "maze");
      trm::puzzle::MazeGenerator gen(o);
      for (int i = 0; i < n; ++i) {
        auto m = gen.Next();
        if (!m.ok()) return absl::InternalError(m.error().message);
        auto& r = out.emplace_back();
        for (auto& row : trm::puzzle::MazeToRows(m->puzzle)) r.mutable_maze()->add_rows(row);
      }
    }
  } else if (kind == "tokens") {
    grpc::ClientContext context;
    SetDeadline(&context, 5);
    trm::v1::ListModelsResponse models;
    grpc::Status status = stub.ListModels(&context, {}, &models);
    if (!status.ok()) return absl::UnavailableError("ListModels: " + status.error_message());
    const trm::v1::ModelInfo* model = nullptr;
    for (const auto& m : models.models()) {
      if (m.name() == absl::GetFlag(FLAGS_model)) model = &m;
    }
    if (model == nullptr)
      return absl::InvalidArgumentError("bench tokens: --model must name a served model");
    std::mt19937_64 rng(seed);
    for (int i = 0; i < n; ++i) {
      auto& r = out.emplace_back();
      for (int t = 0; t < model->seq_len(); ++t) {
        r.mutable_tokens()->add_tokens(static_cast<int>(rng() % std::max(1, model->vocab_size())));
      }
    }
  } else if (kind == "arc") {
    auto text = ReadFile(absl::GetFlag(FLAGS_input));
    if (!text.ok()) return text.status();
    auto& r = out.emplace_back();
    r.mutable_arc()->set_task_id(absl::GetFlag(FLAGS_arc_task));
    if (auto s = ParseGridJson(*text, r.mutable_arc()->mutable_input()); !s.ok()) return s;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("bench: --task \"", kind, "\" is not sudoku, maze, arc or tokens"));
  }
  if (out.empty()) return absl::InvalidArgumentError("bench: no puzzles");
  for (auto& r : out) FillOptions(&r);
  return out;
}

int Bench(const std::shared_ptr<grpc::Channel>& channel) {
  std::shared_ptr<trm::v1::Solver::Stub> stub = trm::v1::Solver::NewStub(channel);
  auto puzzles = BenchPuzzles(*stub);
  if (!puzzles.ok()) return Fail(std::string(puzzles.status().message()));
  trm::client::BenchOptions o;
  o.concurrency = absl::GetFlag(FLAGS_concurrency);
  o.requests = absl::GetFlag(FLAGS_requests);
  o.duration_s = absl::GetFlag(FLAGS_duration_s);
  o.timeout_s = absl::GetFlag(FLAGS_timeout_s);
  o.puzzles = std::move(*puzzles);
  auto result = trm::client::RunBench(stub, o);
  std::cout << (absl::GetFlag(FLAGS_json) ? trm::client::BenchJson(result, o).dump()
                                          : trm::client::FormatBench(result, o))
            << "\n";
  // Exit 1 when nothing succeeded, so scripts notice a dead server.
  return result.ok > 0 ? 0 : 1;
}

// The report beside the submission: runs/submission.json -> runs/submission_report.json.
std::string ReportPath(const std::string& out) {
  const std::string stem =
      out.size() > 5 && out.ends_with(".json") ? out.substr(0, out.size() - 5) : out;
  return stem + "_report.json";
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text << "\n";
  f.close();
  if (!f) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

int Arc(const std::shared_ptr<grpc::Channel>& channel, const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "run") {
    return Fail(
        "arc: trm-client arc run CHALLENGES.json [--solutions SOLUTIONS.json] --out "
        "submission.json");
  }
  auto file = trm::puzzle::ReadArcTaskFile(args[1], absl::GetFlag(FLAGS_solutions));
  if (!file.ok()) return Fail(file.error().message);
  for (const auto& e : file->errors) std::cerr << "trm-client: " << e.message << "\n";
  if (file->tasks.empty()) return Fail("arc run: " + args[1] + ": no task to run");
  const std::string out = absl::GetFlag(FLAGS_out);
  const std::string report =
      absl::GetFlag(FLAGS_report).empty() ? ReportPath(out) : absl::GetFlag(FLAGS_report);
  // Before the run, not after its hours of calls: both files can be written.
  for (const std::string& path : {out, report}) {
    if (auto st = WriteText(path, "{}"); !st.ok()) return Fail(std::string(st.message()));
  }
  const bool tty = isatty(STDERR_FILENO);
  trm::client::ArcRunOptions o;
  o.model = absl::GetFlag(FLAGS_model);
  o.concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  o.augmentations = absl::GetFlag(FLAGS_arc_augmentations);
  o.timeout_s = absl::GetFlag(FLAGS_timeout_s);
  o.send_train = absl::GetFlag(FLAGS_arc_fit);
  if (tty) {
    o.on_progress = [](const trm::puzzle::ArcRunProgress& p) {
      std::cerr << "\r\x1b[2K" << trm::puzzle::FormatArcProgress(p) << std::flush;
    };
  }
  const size_t bad_tasks = file->errors.size();
  trm::puzzle::ArcRun run(*std::move(file));
  auto stub = trm::v1::Solver::NewStub(channel);
  const trm::puzzle::ArcRunResult result = trm::client::RunArcTasks(*stub, run, o);
  if (tty) std::cerr << "\n";
  if (auto st = WriteText(out, trm::puzzle::ArcSubmissionJson(result)); !st.ok()) {
    return Fail(std::string(st.message()), 1);
  }
  if (auto st = WriteText(report, trm::puzzle::ArcReportJson(result)); !st.ok()) {
    return Fail(std::string(st.message()), 1);
  }
  std::cout << trm::puzzle::FormatArcScore(result) << "submission: " << out
            << "\nreport: " << report << "\n";
  // Exit 1 when any task was not run or any call failed: the submission is incomplete.
  return bad_tasks == 0 && result.tests_failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> positional = trm::ParseProgramFlags(
      argc, argv,
      "trm-client solve sudoku|maze|arc|tokens ... | models | health | reload NAME PATH | bench | "
      "arc run CHALLENGES.json");
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.empty()) return Fail("give a command: solve, models, health, reload, bench or arc");
  trm::client::ChannelOptions co;
  co.target = absl::GetFlag(FLAGS_target);
  co.lb_policy = absl::GetFlag(FLAGS_lb_policy);
  co.tls = absl::GetFlag(FLAGS_tls);
  co.ca_file = absl::GetFlag(FLAGS_tls_ca);
  co.cert_file = absl::GetFlag(FLAGS_tls_cert);
  co.key_file = absl::GetFlag(FLAGS_tls_key);
  co.server_name = absl::GetFlag(FLAGS_tls_server_name);
  auto channel = trm::client::MakeChannel(co);
  if (!channel.ok()) return Fail(std::string(channel.status().message()));
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "solve") return Solve(*channel, args);
  if (command == "models") return Models(*channel);
  if (command == "health") return Health(*channel);
  if (command == "reload") return Reload(*channel, args);
  if (command == "bench") return Bench(*channel);
  if (command == "arc") return Arc(*channel, args);
  return Fail(absl::StrCat("unknown command \"", command, "\""));
}
