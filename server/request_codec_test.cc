#include "server/request_codec.h"

#include <gtest/gtest.h>

#include "puzzle/maze_solver.h"
#include "puzzle/sudoku_solver.h"

namespace trm::server {
namespace {

using engine::TaskKind;

// A well-known 30-given puzzle (unique solution).
constexpr char kSudoku[] =
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";

engine::ModelInfo Model(TaskKind task, int seq_len, int vocab) {
  engine::ModelInfo m;
  m.name = engine::TaskKindName(task);
  m.task = task;
  m.seq_len = seq_len;
  m.vocab_size = vocab;
  m.halt_max_steps = 16;
  m.num_puzzle_identifiers = 1;
  return m;
}

TEST(RequestCodecTest, SudokuEncodesVerifiesAndFallsBack) {
  trm::v1::SolveRequest req;
  req.set_sudoku(kSudoku);
  auto enc = EncodePuzzle(req, Model(TaskKind::kSudoku, 81, 11));
  ASSERT_TRUE(enc.ok()) << enc.status();
  ASSERT_EQ(enc->tokens.size(), 81u);
  EXPECT_EQ(enc->tokens[0], 6);  // Digit 5 -> token 6 (official layout).
  EXPECT_EQ(enc->tokens[2], 1);  // Blank -> 1.

  // The exact solver's solution, as tokens, verifies; the puzzle itself (blanks) does not.
  auto solved = puzzle::SolveSudoku(enc->sudoku);
  ASSERT_TRUE(solved.solved());
  auto good = puzzle::SudokuToTokens(solved.solution);
  EXPECT_EQ(VerifyAnswer(*enc, good).verification, trm::v1::VERIFICATION_VERIFIED);
  Checked bad = VerifyAnswer(*enc, enc->tokens);
  EXPECT_EQ(bad.verification, trm::v1::VERIFICATION_INVALID);
  EXPECT_NE(bad.detail.find("blank"), std::string::npos) << bad.detail;

  trm::v1::Answer answer;
  DecodeAnswer(*enc, good, &answer);
  EXPECT_EQ(answer.sudoku(), puzzle::SudokuToString(solved.solution, '0'));
  trm::v1::Answer exact;
  ASSERT_TRUE(ExactAnswer(*enc, &exact));
  EXPECT_EQ(exact.sudoku(), answer.sudoku());
}

TEST(RequestCodecTest, BadPuzzlesGiveThePuzzleLibrarysMessage) {
  trm::v1::SolveRequest req;
  req.set_sudoku(std::string(kSudoku).replace(17, 1, "x"));
  auto enc = EncodePuzzle(req, Model(TaskKind::kSudoku, 81, 11));
  ASSERT_EQ(enc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(enc.status().message().find("bad character 'x' at position 17"), std::string::npos)
      << enc.status();

  // A kind the model does not serve.
  auto wrong = EncodePuzzle(req, Model(TaskKind::kMaze, 900, 6));
  ASSERT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("serves maze puzzles, not sudoku"), std::string::npos);

  trm::v1::SolveRequest none;
  EXPECT_EQ(EncodePuzzle(none, Model(TaskKind::kSudoku, 81, 11)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RequestCodecTest, MazeRoundTripsThroughTheModelFrame) {
  trm::v1::SolveRequest req;
  for (const char* row : {"#######", "#S    #", "# ### #", "#    G#", "#######"}) {
    req.mutable_maze()->add_rows(row);
  }
  auto model = Model(TaskKind::kMaze, 81, 6);
  model.maze_side = 9;
  auto enc = EncodePuzzle(req, model);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(enc->tokens.size(), 81u);
  auto solved = puzzle::SolveMaze(enc->maze);
  ASSERT_TRUE(solved.solvable);
  auto tokens = puzzle::MazeToTokens(solved.solution, 9);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(VerifyAnswer(*enc, *tokens).verification, trm::v1::VERIFICATION_VERIFIED);
  trm::v1::Answer answer;
  DecodeAnswer(*enc, *tokens, &answer);
  ASSERT_EQ(answer.maze().rows_size(), 5);
  EXPECT_EQ(answer.maze().rows(1).find('o') != std::string::npos ||
                answer.maze().rows(2).find('o') != std::string::npos,
            true);

  // Too large for the model's frame.
  trm::v1::SolveRequest big;
  for (int i = 0; i < 10; ++i) big.mutable_maze()->add_rows(i == 1 ? "#S       G#" : "###########");
  auto too_big = EncodePuzzle(big, model);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RequestCodecTest, RawTokensAreCheckedAgainstTheModel) {
  auto model = Model(TaskKind::kTokens, 4, 5);
  trm::v1::SolveRequest req;
  for (int t : {1, 2, 3, 4}) req.mutable_tokens()->add_tokens(t);
  ASSERT_TRUE(EncodePuzzle(req, model).ok());
  req.mutable_tokens()->set_tokens(2, 7);
  auto bad = EncodePuzzle(req, model);
  EXPECT_NE(bad.status().message().find("token 7 at position 2 is outside 0..4"), std::string::npos)
      << bad.status();
  req.mutable_tokens()->add_tokens(1);
  EXPECT_NE(EncodePuzzle(req, model).status().message().find("takes 4 tokens, got 5"),
            std::string::npos);
  trm::v1::SolveRequest id;
  for (int t : {1, 2, 3, 4}) id.mutable_tokens()->add_tokens(t);
  id.mutable_tokens()->set_puzzle_identifier(3);
  EXPECT_EQ(EncodePuzzle(id, model).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RequestCodecTest, OptionsRangesAndDefaults) {
  auto model = Model(TaskKind::kSudoku, 81, 11);
  trm::v1::SolveOptions o;
  HaltDefaults d{.max_steps = 8, .min_steps = 0, .halt_threshold = 0.7f};
  auto halt = ToHaltOptions(o, model, d);
  ASSERT_TRUE(halt.ok());
  EXPECT_EQ(halt->max_steps, 8);
  EXPECT_FLOAT_EQ(halt->halt_threshold, 0.7f);
  o.set_max_steps(-1);
  EXPECT_NE(ToHaltOptions(o, model, d).status().message().find("options.max_steps: -1 is outside"),
            std::string::npos);
  o.set_max_steps(4);
  o.set_min_steps(5);
  EXPECT_NE(ToHaltOptions(o, model, d).status().message().find("min_steps: 5 exceeds max_steps 4"),
            std::string::npos);
  o.set_min_steps(0);
  o.set_halt_threshold(1.5f);
  EXPECT_EQ(ToHaltOptions(o, model, d).status().code(), absl::StatusCode::kInvalidArgument);
  trm::v1::SolveOptions arc;
  arc.set_arc_attempts(11);
  EXPECT_EQ(CheckArcOptions(arc).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RequestCodecTest, DihedralViewsRangeAndNotForArc) {
  trm::v1::SolveOptions o;
  for (int views : {0, 1, 8}) {
    o.set_dihedral_views(views);
    EXPECT_TRUE(CheckViewOptions(o, TaskKind::kMaze).ok()) << views;
  }
  o.set_dihedral_views(9);
  EXPECT_NE(CheckViewOptions(o, TaskKind::kSudoku)
                .message()
                .find("options.dihedral_views: 9 is outside 0..8"),
            std::string::npos)
      << CheckViewOptions(o, TaskKind::kSudoku);
  o.set_dihedral_views(-1);
  EXPECT_EQ(CheckViewOptions(o, TaskKind::kSudoku).code(), absl::StatusCode::kInvalidArgument);
  o.set_dihedral_views(2);
  EXPECT_NE(CheckViewOptions(o, TaskKind::kArc).message().find("arc_augmentations"),
            std::string::npos);
}

TEST(RequestCodecTest, ClientStringsAreCappedWithTheFieldAndTheLimitNamed) {
  trm::v1::SolveRequest r;
  r.set_request_id(std::string(kMaxRequestIdBytes, 'i'));
  r.set_model(std::string(kMaxModelNameBytes, 'm'));
  r.mutable_arc()->set_task_id(std::string(kMaxArcTaskIdBytes, 't'));
  EXPECT_TRUE(CheckStringLimits(r).ok()) << "at the limits";
  const struct {
    void (*grow)(trm::v1::SolveRequest*);
    const char* message;
  } cases[] = {
      {[](trm::v1::SolveRequest* r) { r->set_request_id(std::string(15 << 20, 'i')); },
       "request_id: 15728640 bytes, the limit is 256"},
      {[](trm::v1::SolveRequest* r) { r->set_model(std::string(257, 'm')); },
       "model: 257 bytes, the limit is 256"},
      {[](trm::v1::SolveRequest* r) { r->mutable_arc()->set_task_id(std::string(1000, 't')); },
       "arc.task_id: 1000 bytes, the limit is 256"},
  };
  for (const auto& c : cases) {
    trm::v1::SolveRequest bad = r;
    c.grow(&bad);
    const absl::Status s = CheckStringLimits(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(s.message(), c.message);
  }
}

}  // namespace
}  // namespace trm::server

namespace trm::server {
namespace {

void SetGrid(int rows, int cols, std::vector<int> cells, trm::v1::Grid* g) {
  g->set_rows(rows);
  g->set_cols(cols);
  for (int c : cells) g->add_cells(c);
}

TEST(RequestCodecTest, ArcTrainPairsAreDecodedAndBadOnesNamed) {
  const engine::ModelInfo arc = Model(TaskKind::kArc, 900, 12);
  trm::v1::SolveRequest req;
  req.mutable_arc()->set_task_id("unseen");
  SetGrid(1, 2, {1, 2}, req.mutable_arc()->mutable_input());
  auto* pair = req.mutable_arc()->add_train();
  SetGrid(1, 1, {3}, pair->mutable_input());
  SetGrid(2, 1, {4, 5}, pair->mutable_output());
  auto enc = EncodePuzzle(req, arc);
  ASSERT_TRUE(enc.ok()) << enc.status();
  ASSERT_EQ(enc->arc_train.size(), 1u);
  EXPECT_EQ(enc->arc_train[0].input, (puzzle::ArcGrid{1, 1, {3}}));
  ASSERT_TRUE(enc->arc_train[0].output.has_value());
  EXPECT_EQ(*enc->arc_train[0].output, (puzzle::ArcGrid{2, 1, {4, 5}}));

  auto* bad = req.mutable_arc()->add_train();
  SetGrid(1, 1, {3}, bad->mutable_input());
  SetGrid(2, 2, {1, 2, 3}, bad->mutable_output());
  EXPECT_EQ(EncodePuzzle(req, arc).status().message(),
            "arc: train[1].output is 2x2 but has 3 cells");
  bad->mutable_output()->add_cells(10);
  EXPECT_NE(
      EncodePuzzle(req, arc).status().message().find("arc: train[1].output: arc grid: colour 10"),
      std::string::npos)
      << EncodePuzzle(req, arc).status();
  req.mutable_arc()->mutable_train()->RemoveLast();
  while (req.arc().train_size() <= kMaxArcTrainPairs) *req.mutable_arc()->add_train() = *pair;
  EXPECT_EQ(EncodePuzzle(req, arc).status().message(), "arc: train has 65 pairs, the limit is 64");
}

}  // namespace
}  // namespace trm::server
