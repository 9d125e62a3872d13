// End-to-end on trained weights: the bundled checkpoints/ models, loaded by trm-server with no
// --checkpoints flag, answer held-out puzzles correctly (the server's own verification says so),
// and the ARC path runs on tests/data/arc_tiny, a checkpoint trained by trm-train on four real
// ARC-AGI-1 tasks. Unlike server_e2e_test (random weights), these check answers.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "puzzle/maze.h"
#include "puzzle/maze_generator.h"
#include "puzzle/sudoku.h"
#include "puzzle/sudoku_generator.h"
#include "tests/e2e_grpc.h"
#include "tests/e2e_util.h"

namespace trm::e2e {
namespace {

using trm::v1::SolveRequest;
using trm::v1::SolveResponse;

// Held-out: trm-train draws its puzzles from the run's seed; these seeds were never used there.
constexpr uint64_t kSudokuSeed = 424242;
constexpr uint64_t kMazeSeed = 434343;
constexpr int kPuzzles = 20;

// trm-server started in the source tree with no --checkpoints: it finds checkpoints/ itself.
class BundledModelsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::filesystem::path cwd = std::filesystem::current_path();
    std::filesystem::current_path(Env("TRM_SOURCE_DIR"));
    server_ = new ServerProcess(dir_->path() + "/server.log", {"--threads=1"});
    std::filesystem::current_path(cwd);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->child().Log(); }

  // Solves each request; expects `model` to answer it, and returns how many answers the server
  // verified as correct.
  int CountVerified(const std::vector<SolveRequest>& requests, const std::string& model) {
    auto ch = Channel(server_->address());
    int verified = 0;
    for (const SolveRequest& req : requests) {
      SolveResponse resp;
      grpc::Status s = Solve(ch, req, &resp, absl::Seconds(60));
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(resp.model(), model);
      EXPECT_EQ(resp.source(), trm::v1::ANSWER_SOURCE_MODEL);  // No exact-solver fallback.
      verified += resp.verification() == trm::v1::VERIFICATION_VERIFIED;
    }
    return verified;
  }

  static TempDir* dir_;
  static ServerProcess* server_;
};
TempDir* BundledModelsTest::dir_ = nullptr;
ServerProcess* BundledModelsTest::server_ = nullptr;

// The cards report each model's accuracy per band; these ask for most of it on an easy band, so
// a broken checkpoint, loader or codec fails while the model's rare misses do not.
TEST_F(BundledModelsTest, SudokuModelSolvesEasyHeldOutPuzzles) {
  puzzle::SudokuGenerator gen({.seed = kSudokuSeed, .min_givens = 50, .max_givens = 56});
  std::vector<SolveRequest> requests(kPuzzles);
  for (SolveRequest& req : requests) {
    auto p = gen.Next();
    ASSERT_TRUE(p.ok()) << p.error().message;
    req.set_sudoku(puzzle::SudokuToString(p->puzzle));
  }
  int verified = CountVerified(requests, "sudoku");
  EXPECT_GE(verified, kPuzzles * 9 / 10) << verified << " of " << kPuzzles << " verified";
}

std::vector<SolveRequest> MazeRequests(uint64_t seed, int min_path, int max_path) {
  puzzle::MazeGenerator gen(
      {.seed = seed, .side = 9, .min_path_length = min_path, .max_path_length = max_path});
  std::vector<SolveRequest> requests(kPuzzles);
  for (SolveRequest& req : requests) {
    auto m = gen.Next();
    EXPECT_TRUE(m.ok()) << m.error().message;
    if (!m.ok()) return {};
    for (const std::string& row : puzzle::MazeToRows(m->puzzle)) req.mutable_maze()->add_rows(row);
  }
  return requests;
}

TEST_F(BundledModelsTest, MazeModelSolvesHeldOutMazes) {
  // With its serving defaults (8 dihedral views that vote) the card measures about 99% here.
  int verified = CountVerified(MazeRequests(kMazeSeed, 4, 11), "maze");
  EXPECT_GE(verified, kPuzzles * 9 / 10) << verified << " of " << kPuzzles << " verified";
}

TEST_F(BundledModelsTest, MazeModelSolvesLongPathMazes) {
  // Paths of 21 steps and more, the card's hardest band (99.4% there; 91.6% before stage 3).
  int verified = CountVerified(MazeRequests(kMazeSeed + 1, 21, -1), "maze");
  EXPECT_GE(verified, kPuzzles * 8 / 10) << verified << " of " << kPuzzles << " verified";
}

// The cards' figures are measured with these defaults from the checkpoints' config.json.
TEST_F(BundledModelsTest, ServingDefaultsAreTheCalibratedOnes) {
  grpc::ClientContext c;
  SetDeadline(&c, absl::Seconds(10));
  trm::v1::ListModelsResponse resp;
  ASSERT_TRUE(
      trm::v1::Solver::NewStub(Channel(server_->address()))->ListModels(&c, {}, &resp).ok());
  std::map<std::string, trm::v1::ModelInfo> by_name;
  for (const auto& m : resp.models()) by_name[m.name()] = m;
  ASSERT_TRUE(by_name.count("sudoku") && by_name.count("maze"));
  EXPECT_FLOAT_EQ(by_name["sudoku"].halt_threshold(), 0.95f);
  EXPECT_EQ(by_name["sudoku"].dihedral_views(), 8);
  EXPECT_FLOAT_EQ(by_name["maze"].halt_threshold(), 0.5f);
  EXPECT_EQ(by_name["maze"].dihedral_views(), 8);
}

// The ARC path on trained weights and a real task's identifiers: expansion into the augmented
// variants the checkpoint knows, inversion and voting. arc_tiny does not solve ARC (its card), so
// this checks the shape of the answer, not its cells.
TEST(ArcTinyTest, ServesARealTaskThroughAugmentationAndVoting) {
  TempDir dir;
  const std::string ckpt = Env("TRM_SOURCE_DIR") + "/tests/data/arc_tiny";
  ServerProcess server(dir.path() + "/server.log", {"--checkpoints=arc_tiny=" + ckpt});
  ASSERT_TRUE(server.ok()) << server.child().Log();
  auto ch = Channel(server.address());
  SolveRequest req;
  req.set_model("arc_tiny");
  req.mutable_arc()->set_task_id("007bbfb7");  // Its test input: 3x3 -> 9x9.
  auto* g = req.mutable_arc()->mutable_input();
  g->set_rows(3);
  g->set_cols(3);
  for (int v : {7, 0, 7, 7, 0, 7, 7, 7, 0}) g->add_cells(v);
  req.mutable_options()->set_arc_augmentations(8);
  SolveResponse resp;
  grpc::Status s = Solve(ch, req, &resp, absl::Seconds(60));
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.model(), "arc_tiny");
  ASSERT_GE(resp.arc_attempts_size(), 1);
  ASSERT_LE(resp.arc_attempts_size(), 2);
  for (const auto& a : resp.arc_attempts()) {
    EXPECT_GE(a.grid().rows(), 1);
    EXPECT_LE(a.grid().rows(), 30);
    EXPECT_EQ(a.grid().cells_size(), a.grid().rows() * a.grid().cols());
    for (int c : a.grid().cells()) EXPECT_TRUE(c >= 0 && c <= 9) << c;
  }
  // A task the checkpoint was not trained on is a clear NOT_FOUND.
  req.mutable_arc()->set_task_id("00576224");
  s = Solve(ch, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

}  // namespace
}  // namespace trm::e2e
