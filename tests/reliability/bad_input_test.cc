// Bad input, one table: every field of SolveRequest with wrong sizes, characters and ranges, huge
// repeated fields, a message over --max_message_bytes, unknown models and ARC tasks, the wrong
// puzzle kind for the model, NaN and negative options. Each gets the right status code and a
// message naming the problem; afterwards the server is unaffected (idle, serving, same memory).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "absl/strings/str_cat.h"
#include "tests/reliability/reliability_util.h"

namespace trm::reliability {
namespace {

using grpc::StatusCode;
using trm::v1::SolveRequest;

constexpr int kMaxMessageBytes = 1 << 20;

struct BadCase {
  std::string name;
  std::function<void(SolveRequest*)> make;  // Applied to a valid sudoku request.
  StatusCode code;
  std::string message;  // A substring the error message must contain.
};

std::string Replace(std::string s, size_t pos, const std::string& with) {
  return s.replace(pos, with.size(), with);
}

void SetMaze(SolveRequest* r, std::vector<std::string> rows, const std::string& model = "maze") {
  r->set_model(model);
  r->mutable_maze()->clear_rows();
  for (auto& row : rows) r->mutable_maze()->add_rows(row);
}

const std::vector<std::string> kMaze = {"#########", "#S    # #", "# ### # #", "#   #   #",
                                        "### # ###", "#   #  G#", "#########"};

void SetTokens(SolveRequest* r, int n, int value = 1) {
  r->set_model("tokens");
  r->mutable_tokens()->clear_tokens();
  for (int i = 0; i < n; ++i) r->mutable_tokens()->add_tokens(value);
}

void SetArc(SolveRequest* r, const std::string& task, int rows, int cols, int cells, int value) {
  r->set_model("");
  r->mutable_arc()->set_task_id(task);
  auto* g = r->mutable_arc()->mutable_input();
  g->set_rows(rows);
  g->set_cols(cols);
  g->clear_cells();
  for (int i = 0; i < cells; ++i) g->add_cells(value);
}

std::vector<BadCase> Cases() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  using C = StatusCode;
  return {
      // The puzzle oneof.
      {"no puzzle", [](SolveRequest* r) { r->clear_sudoku(); }, C::INVALID_ARGUMENT, "no puzzle"},
      // sudoku
      {"sudoku empty", [](SolveRequest* r) { r->set_sudoku(""); }, C::INVALID_ARGUMENT, "sudoku"},
      {"sudoku 80 cells", [](SolveRequest* r) { r->set_sudoku(std::string(kSudoku).substr(1)); },
       C::INVALID_ARGUMENT, "sudoku"},
      {"sudoku 82 cells", [](SolveRequest* r) { r->set_sudoku(std::string(kSudoku) + "."); },
       C::INVALID_ARGUMENT, "sudoku"},
      {"sudoku bad character", [](SolveRequest* r) { r->set_sudoku(Replace(kSudoku, 17, "x")); },
       C::INVALID_ARGUMENT, "bad character 'x' at position 17"},
      {"sudoku NUL byte",
       [](SolveRequest* r) { r->set_sudoku(Replace(kSudoku, 3, std::string(1, '\0'))); },
       C::INVALID_ARGUMENT, "position 3"},
      // Raw non-UTF-8 bytes cannot be sent in a proto3 string (the client library refuses to
      // serialize them and the server's parser rejects them); the fuzzer covers raw bytes.
      {"sudoku non-ASCII UTF-8",
       [](SolveRequest* r) { r->set_sudoku(Replace(kSudoku, 5, "\xc3\xa9")); }, C::INVALID_ARGUMENT,
       "position 5"},
      {"sudoku conflicting givens",
       [](SolveRequest* r) { r->set_sudoku(Replace(kSudoku, 0, "55")); }, C::INVALID_ARGUMENT,
       "appears twice"},
      {"sudoku 1 MB string", [](SolveRequest* r) { r->set_sudoku(std::string(900000, '1')); },
       C::INVALID_ARGUMENT, "sudoku"},
      {"sudoku to the maze model", [](SolveRequest* r) { r->set_model("maze"); },
       C::INVALID_ARGUMENT, "serves maze puzzles, not sudoku"},
      // model
      {"unknown model", [](SolveRequest* r) { r->set_model("no-such-model"); }, C::NOT_FOUND,
       "no-such-model"},
      {"model name with control bytes", [](SolveRequest* r) { r->set_model("a\nb\x01"); },
       C::NOT_FOUND, "model"},
      {"model name 100 KB", [](SolveRequest* r) { r->set_model(std::string(100000, 'm')); },
       C::INVALID_ARGUMENT, "model: 100000 bytes, the limit is 256"},
      // maze
      {"maze to the sudoku model", [](SolveRequest* r) { SetMaze(r, kMaze, "sudoku"); },
       C::INVALID_ARGUMENT, "serves sudoku puzzles, not maze"},
      {"maze no rows", [](SolveRequest* r) { SetMaze(r, {}); }, C::INVALID_ARGUMENT, "maze"},
      {"maze ragged rows",
       [](SolveRequest* r) {
         auto rows = kMaze;
         rows[2] += "#";
         SetMaze(r, rows);
       },
       C::INVALID_ARGUMENT, "maze"},
      {"maze bad character",
       [](SolveRequest* r) {
         auto rows = kMaze;
         rows[3][2] = 'x';
         SetMaze(r, rows);
       },
       C::INVALID_ARGUMENT, "'x'"},
      {"maze no start",
       [](SolveRequest* r) {
         auto rows = kMaze;
         rows[1][1] = ' ';
         SetMaze(r, rows);
       },
       C::INVALID_ARGUMENT, "maze"},
      {"maze larger than the model's 9x9",
       [](SolveRequest* r) {
         std::vector<std::string> rows(11, "#" + std::string(9, ' ') + "#");
         rows.front() = rows.back() = std::string(11, '#');
         rows[1][1] = 'S';
         rows[9][9] = 'G';
         SetMaze(r, rows);
       },
       C::INVALID_ARGUMENT, "does not fit"},
      {"maze 100000 rows",
       [](SolveRequest* r) { SetMaze(r, std::vector<std::string>(100000, "#")); },
       C::INVALID_ARGUMENT, "maze"},
      // arc
      {"arc to the sudoku model",
       [](SolveRequest* r) {
         SetArc(r, kArcTask, 2, 2, 4, 1);
         r->set_model("sudoku");
       },
       C::INVALID_ARGUMENT, "serves sudoku puzzles, not arc"},
      {"arc unknown task", [](SolveRequest* r) { SetArc(r, "ffffffff", 2, 2, 4, 1); }, C::NOT_FOUND,
       "ffffffff"},
      {"arc empty task_id", [](SolveRequest* r) { SetArc(r, "", 2, 2, 4, 1); }, C::INVALID_ARGUMENT,
       "arc: task_id is empty"},
      {"arc cells fewer than rows x cols", [](SolveRequest* r) { SetArc(r, kArcTask, 2, 3, 5, 1); },
       C::INVALID_ARGUMENT, "arc: input is 2x3 but has 5 cells"},
      {"arc negative rows", [](SolveRequest* r) { SetArc(r, kArcTask, -2, -2, 4, 1); },
       C::INVALID_ARGUMENT, "arc"},
      {"arc colour 10", [](SolveRequest* r) { SetArc(r, kArcTask, 2, 2, 4, 10); },
       C::INVALID_ARGUMENT, "arc"},
      {"arc colour -1", [](SolveRequest* r) { SetArc(r, kArcTask, 2, 2, 4, -1); },
       C::INVALID_ARGUMENT, "arc"},
      {"arc 31x31 grid (over 30x30)", [](SolveRequest* r) { SetArc(r, kArcTask, 31, 31, 961, 1); },
       C::INVALID_ARGUMENT, "arc"},
      {"arc 100000 cells (huge repeated field)",
       [](SolveRequest* r) { SetArc(r, kArcTask, 1, 100000, 100000, 1); }, C::INVALID_ARGUMENT,
       "arc"},
      {"arc rows x cols overflows int32",
       [](SolveRequest* r) { SetArc(r, kArcTask, 1 << 20, 1 << 20, 4, 1); }, C::INVALID_ARGUMENT,
       "arc"},
      // tokens
      {"tokens too few", [](SolveRequest* r) { SetTokens(r, 15); }, C::INVALID_ARGUMENT,
       "takes 16 tokens, got 15"},
      {"tokens too many", [](SolveRequest* r) { SetTokens(r, 17); }, C::INVALID_ARGUMENT,
       "takes 16 tokens, got 17"},
      {"tokens 200000 (huge repeated field)", [](SolveRequest* r) { SetTokens(r, 200000); },
       C::INVALID_ARGUMENT, "got 200000"},
      {"token negative", [](SolveRequest* r) { SetTokens(r, 16, -1); }, C::INVALID_ARGUMENT,
       "token -1 at position 0"},
      {"token past the vocabulary", [](SolveRequest* r) { SetTokens(r, 16, 8); },
       C::INVALID_ARGUMENT, "token 8 at position 0 is outside 0..7"},
      {"puzzle_identifier negative",
       [](SolveRequest* r) {
         SetTokens(r, 16);
         r->mutable_tokens()->set_puzzle_identifier(-5);
       },
       C::INVALID_ARGUMENT, "puzzle_identifier -5"},
      // options
      {"max_steps negative", [](SolveRequest* r) { r->mutable_options()->set_max_steps(-1); },
       C::INVALID_ARGUMENT, "options.max_steps: -1"},
      {"max_steps huge", [](SolveRequest* r) { r->mutable_options()->set_max_steps(1 << 30); },
       C::INVALID_ARGUMENT, "options.max_steps"},
      {"min_steps negative", [](SolveRequest* r) { r->mutable_options()->set_min_steps(-7); },
       C::INVALID_ARGUMENT, "options.min_steps: -7"},
      {"min_steps over max_steps",
       [](SolveRequest* r) {
         r->mutable_options()->set_max_steps(2);
         r->mutable_options()->set_min_steps(3);
       },
       C::INVALID_ARGUMENT, "min_steps: 3 exceeds max_steps 2"},
      {"halt_threshold negative",
       [](SolveRequest* r) { r->mutable_options()->set_halt_threshold(-0.5f); },
       C::INVALID_ARGUMENT, "options.halt_threshold"},
      {"halt_threshold over 1",
       [](SolveRequest* r) { r->mutable_options()->set_halt_threshold(1.5f); }, C::INVALID_ARGUMENT,
       "options.halt_threshold"},
      {"halt_threshold +inf",
       [inf](SolveRequest* r) { r->mutable_options()->set_halt_threshold(inf); },
       C::INVALID_ARGUMENT, "options.halt_threshold"},
      {"halt_threshold -inf",
       [inf](SolveRequest* r) { r->mutable_options()->set_halt_threshold(-inf); },
       C::INVALID_ARGUMENT, "options.halt_threshold"},
      {"halt_threshold NaN",
       [nan](SolveRequest* r) { r->mutable_options()->set_halt_threshold(nan); },
       C::INVALID_ARGUMENT, "options.halt_threshold"},
      {"arc_augmentations negative",
       [](SolveRequest* r) {
         SetArc(r, kArcTask, 2, 2, 4, 1);
         r->mutable_options()->set_arc_augmentations(-1);
       },
       C::INVALID_ARGUMENT, "arc_augmentations"},
      {"arc_attempts huge",
       [](SolveRequest* r) {
         SetArc(r, kArcTask, 2, 2, 4, 1);
         r->mutable_options()->set_arc_attempts(1000000);
       },
       C::INVALID_ARGUMENT, "arc_attempts"},
      // request_id: any bytes up to 256 are an id; past that a clear refusal.
      {"request_id 257 bytes", [](SolveRequest* r) { r->set_request_id(std::string(257, 'i')); },
       C::INVALID_ARGUMENT, "request_id: 257 bytes, the limit is 256"},
      {"arc task_id 300 bytes",
       [](SolveRequest* r) { SetArc(r, std::string(300, 't'), 2, 2, 4, 1); }, C::INVALID_ARGUMENT,
       "arc.task_id: 300 bytes, the limit is 256"},
      {"request_id over the message limit",
       [](SolveRequest* r) { r->set_request_id(std::string(kMaxMessageBytes + 10, 'i')); },
       C::RESOURCE_EXHAUSTED, ""},
      // The whole message over --max_message_bytes.
      {"message over --max_message_bytes",
       [](SolveRequest* r) { SetTokens(r, kMaxMessageBytes + 16); }, C::RESOURCE_EXHAUSTED, ""},
  };
}

// Sends `c` unary and streaming (same path; both must reject the same way, with no step).
void ExpectRejected(const std::shared_ptr<grpc::Channel>& ch, const BadCase& c) {
  SolveRequest req = Sudoku();
  c.make(&req);
  trm::v1::SolveResponse resp;
  grpc::Status s = Solve(ch, req, &resp, absl::Seconds(20));
  EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
  EXPECT_NE(s.error_message().find(c.message), std::string::npos)
      << c.name << ": " << s.error_message();
  if (s.error_code() != StatusCode::RESOURCE_EXHAUSTED) {
    EXPECT_LT(s.error_message().size(), 2000u) << c.name << ": the message echoes the input";
  }
  grpc::ClientContext sc;
  SetDeadline(&sc, absl::Seconds(20));
  auto reader = trm::v1::Solver::NewStub(ch)->SolveSteps(&sc, req);
  trm::v1::SolveStep step;
  int steps = 0;
  while (reader->Read(&step)) ++steps;
  grpc::Status ss = reader->Finish();
  EXPECT_EQ(steps, 0) << c.name;
  EXPECT_EQ(ss.error_code(), c.code) << c.name << " (SolveSteps): " << ss.error_message();
}

TEST(BadInputTest, EveryFieldGetsTheRightCodeAndMessage) {
  ASSERT_TRUE(SharedCheckpoints().ok);
  Server server({absl::StrCat("--max_message_bytes=", kMaxMessageBytes)});
  ASSERT_TRUE(server.process->ok()) << server.process->child().Log();
  auto ch = Channel(server.process->address());
  const long rss_before = RssKib(server.process->child().pid());
  int tried = 0;
  for (const BadCase& c : Cases()) {
    ExpectRejected(ch, c);
    ++tried;
  }
  std::printf("bad input: %d cases, unary and streaming\n", tried);
  // Unaffected: idle, serving each kind, memory flat.
  EXPECT_TRUE(WaitMetric(server.process->metrics_port(), "trm_active_requests", 0));
  EXPECT_TRUE(WaitMetric(server.process->metrics_port(), "trm_queue_depth", 0));
  trm::v1::SolveResponse r;
  EXPECT_TRUE(Solve(ch, Sudoku(), &r).ok());
  SolveRequest maze;
  SetMaze(&maze, kMaze);
  EXPECT_TRUE(Solve(ch, maze, &r).ok());
  SolveRequest tokens;
  SetTokens(&tokens, 16);
  EXPECT_TRUE(Solve(ch, tokens, &r).ok());
  EXPECT_LT(RssKib(server.process->child().pid()) - rss_before, 32 * 1024);
}

}  // namespace
}  // namespace trm::reliability
