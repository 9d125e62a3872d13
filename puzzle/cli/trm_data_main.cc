// trm-data: solve, verify, generate and build datasets of Sudoku, maze and ARC puzzles.
// A thin program over puzzle/: flags and files here, every rule in the library; what differs
// between Sudoku and mazes is in puzzle_kinds.h.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_split.h"
#include "base/program_flags.h"
#include "puzzle/arc_json.h"
#include "puzzle/cli/puzzle_kinds.h"
#include "puzzle/dataset.h"
#include "puzzle/dataset_builders.h"
#include "puzzle/puzzle_file.h"

ABSL_FLAG(int64_t, count, 10, "generate/build: number of puzzles (build: training puzzles)");
ABSL_FLAG(int64_t, test_count, 0, "build: number of generated test puzzles");
ABSL_FLAG(uint64_t, seed, 0, "generate/build: random seed (build arc: 42 when unset)");
ABSL_FLAG(int, min_givens, 17, "sudoku: fewest givens");
ABSL_FLAG(int, max_givens, 30, "sudoku: most givens");
ABSL_FLAG(int64_t, min_guesses, 0, "sudoku: lowest solver guess count (difficulty rating)");
ABSL_FLAG(int64_t, max_guesses, -1, "sudoku: highest solver guess count; -1 no limit");
ABSL_FLAG(int, side, 30, "maze: square side 5..30");
ABSL_FLAG(int, min_path, 0, "maze: shortest path at least this many steps");
ABSL_FLAG(int, max_path, -1, "maze: shortest path at most this many steps; -1 no limit");
ABSL_FLAG(double, loop_fraction, 0.1, "maze: share of inner walls knocked out to make loops");
ABSL_FLAG(bool, allow_ties, false,
          "maze: also keep mazes with more than one shortest path (the label is then one of them)");
ABSL_FLAG(bool, hard, false, "maze: the paper's Maze-Hard recipe (30x30, path > 110)");
ABSL_FLAG(std::string, out, "", "build: output dataset directory");
ABSL_FLAG(std::string, train, "", "build sudoku|maze: training puzzle file (else generated)");
ABSL_FLAG(std::string, test, "",
          "build sudoku|maze: test puzzle file (else --test_count generated)");
ABSL_FLAG(int, num_aug, -1,
          "build: augmented copies per training puzzle (-1: official default: sudoku 1000, "
          "maze 8 dihedral, arc 1000)");
ABSL_FLAG(std::string, arc_dir, "../shared/data/arc", "build arc: folder of arc-agi_*.json");
ABSL_FLAG(std::string, subsets, "training,evaluation,concept",
          "build arc: subsets to read (the paper's ARC-AGI-1 recipe; ARC-AGI-2: "
          "training2,evaluation2,concept with --test_set evaluation2)");
ABSL_FLAG(std::string, test_set, "evaluation", "build arc: subset whose test pairs form test/");

namespace {

using namespace trm::puzzle;

constexpr char kUsage[] =
    "trm-data: Sudoku, maze and ARC puzzles and datasets.\n"
    "\n"
    "  trm-data solve sudoku|maze FILE\n"
    "      Exact solutions, in input order: sudoku 81 digits a line, maze the grid with the\n"
    "      path marked 'o' and an empty line after it. Bad puzzles get an error on stderr naming\n"
    "      FILE:LINE, and the rest are still solved; exit status 1 if any failed.\n"
    "  trm-data verify sudoku|maze PUZZLES ANSWERS\n"
    "      A verdict per puzzle and a summary; exit status 1 unless all are correct.\n"
    "  trm-data generate sudoku|maze --count N --seed S [--min_givens --max_givens\n"
    "      --min_guesses --max_guesses | --side --min_path --max_path --loop_fraction --allow_ties "
    "--hard]\n"
    "      Unique-solution puzzles in the puzzle-file format on stdout.\n"
    "  trm-data build sudoku|maze --out DIR [--train FILE --test FILE | --count N\n"
    "      --test_count M + generator options] [--num_aug K]\n"
    "  trm-data build arc --out DIR [--arc_dir D --subsets training,evaluation,concept\n"
    "      --test_set evaluation --num_aug 1000 --seed 42]\n"
    "      A dataset in the official TRM format (train/, test/, identifiers.json, and\n"
    "      test_puzzles.json for ARC) with the official augmentations.\n"
    "\n"
    "Puzzle files: sudoku one puzzle a line ('#' comments); mazes one block of rows a puzzle,\n"
    "blocks separated by an empty line ('//' comments).\n";

int Fail(const std::string& message) {
  std::cerr << "trm-data: " << message << "\n";
  return 2;
}

// Template arguments below are SudokuKind or MazeKind (puzzle_kinds.h): what the two do alike is
// written once here, what differs is the Kind's.
template <class Kind>
Expected<std::vector<PuzzleRecord>> Records(const std::string& path) {
  auto content = ReadTextFile(path);
  if (!content.ok()) return content.error();
  return Kind::Split(*content);
}

template <class Kind>
int Solve(const std::string& path) {
  auto records = Records<Kind>(path);
  if (!records.ok()) return Fail(records.error().message);
  typename Kind::Solver solver;
  int failed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const PuzzleRecord& r : *records) {
    std::string where = path + ":" + std::to_string(r.line) + ": ";
    auto puzzle = Kind::ParseValid(r.text);
    auto solution = puzzle.ok() ? solver.Solve(*puzzle) : puzzle.error();
    if (!solution.ok()) {
      std::cerr << where << solution.error().message << "\n";
      ++failed;
      continue;
    }
    std::cout << Kind::ToString(*solution) << Kind::kRecordEnd;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t solved = static_cast<int64_t>(records->size()) - failed;
  std::cerr << "solved " << solved << " of " << records->size() << " " << Kind::kName
            << " puzzles in " << seconds << " s";
  solver.AppendSummary(std::cerr, solved, seconds);
  std::cerr << "\n";
  return failed ? 1 : 0;
}

template <class Kind>
int Verify(const std::string& puzzles_path, const std::string& answers_path) {
  auto puzzles = Records<Kind>(puzzles_path);
  if (!puzzles.ok()) return Fail(puzzles.error().message);
  auto answers = Records<Kind>(answers_path);
  if (!answers.ok()) return Fail(answers.error().message);
  if (puzzles->size() != answers->size()) {
    return Fail(puzzles_path + " has " + std::to_string(puzzles->size()) + " puzzles but " +
                answers_path + " has " + std::to_string(answers->size()) + " answers");
  }
  int correct = 0;
  for (size_t i = 0; i < puzzles->size(); ++i) {
    const auto& p = (*puzzles)[i];
    const auto& a = (*answers)[i];
    auto puzzle = Kind::ParseValid(p.text);
    auto answer = Kind::ParseAnswer(a.text);
    Expected<void> verdict = !puzzle.ok()   ? Expected<void>(puzzle.error())
                             : !answer.ok() ? Expected<void>(answer.error())
                                            : Kind::VerifyAnswer(*puzzle, *answer);
    std::cout << puzzles_path << ":" << p.line << " / " << answers_path << ":" << a.line << ": "
              << (verdict.ok() ? "correct" : "wrong: " + verdict.error().message) << "\n";
    correct += verdict.ok();
  }
  std::cout << correct << " of " << puzzles->size() << " correct\n";
  return correct == static_cast<int>(puzzles->size()) ? 0 : 1;
}

// The generators' options from the flags, by kind.
SudokuGeneratorOptions GeneratorOptions(SudokuKind, uint64_t seed) {
  return {.seed = seed,
          .min_givens = absl::GetFlag(FLAGS_min_givens),
          .max_givens = absl::GetFlag(FLAGS_max_givens),
          .min_guesses = absl::GetFlag(FLAGS_min_guesses),
          .max_guesses = absl::GetFlag(FLAGS_max_guesses)};
}

MazeGeneratorOptions GeneratorOptions(MazeKind, uint64_t seed) {
  MazeGeneratorOptions o;
  if (absl::GetFlag(FLAGS_hard)) {
    o = MazeGeneratorOptions::MazeHard(seed);
  } else {
    o = {.seed = seed,
         .side = absl::GetFlag(FLAGS_side),
         .loop_fraction = absl::GetFlag(FLAGS_loop_fraction),
         .min_path_length = absl::GetFlag(FLAGS_min_path),
         .max_path_length = absl::GetFlag(FLAGS_max_path)};
  }
  o.unique_shortest_path = !absl::GetFlag(FLAGS_allow_ties);
  return o;
}

void Progress(int64_t done, int64_t total) {
  if (done % 1000 == 0 || done == total) {
    std::cerr << "  " << done << "/" << total << "\r" << (done == total ? "\n" : "") << std::flush;
  }
}

// `build`'s pairs: the puzzles of `file`, solved, or else `count` generated ones.
template <class Kind>
Expected<std::vector<typename Kind::Pair>> Pairs(const std::string& file, int64_t count,
                                                 uint64_t seed) {
  std::vector<typename Kind::Pair> pairs;
  if (!file.empty()) {
    auto records = Records<Kind>(file);
    if (!records.ok()) return records.error();
    for (const auto& r : *records) {
      auto puzzle = Kind::ParseValid(r.text);
      auto solution = puzzle.ok() ? Kind::SolveForPair(*puzzle) : puzzle.error();
      if (!solution.ok()) {
        return Error{file + ":" + std::to_string(r.line) + ": " + solution.error().message};
      }
      pairs.push_back({*puzzle, *solution});
    }
    return pairs;
  }
  typename Kind::Generator gen(GeneratorOptions(Kind{}, seed));
  for (int64_t i = 0; i < count; ++i) {
    auto g = gen.Next();
    if (!g.ok()) return g.error();
    pairs.push_back({g->puzzle, g->solution});
    Progress(i + 1, count);
  }
  return pairs;
}

template <class Kind>
int Generate(int64_t count, uint64_t seed) {
  typename Kind::Generator gen(GeneratorOptions(Kind{}, seed));
  for (int64_t i = 0; i < count; ++i) {
    auto g = gen.Next();
    if (!g.ok()) return Fail(g.error().message);
    std::cout << Kind::ToString(g->puzzle) << Kind::kRecordEnd;
    if (count >= 1000) Progress(i + 1, count);
  }
  return 0;
}

int Generate(const std::string& kind) {
  const int64_t count = absl::GetFlag(FLAGS_count);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (count < 0) return Fail("--count must not be negative");
  return kind == "sudoku" ? Generate<SudokuKind>(count, seed) : Generate<MazeKind>(count, seed);
}

// `build sudoku|maze`: train and test splits, then the one identifier.
template <class Kind>
int BuildGrids(const std::string& out, uint64_t seed, int num_aug) {
  auto train = Pairs<Kind>(absl::GetFlag(FLAGS_train), absl::GetFlag(FLAGS_count), seed);
  if (!train.ok()) return Fail(train.error().message);
  auto test = Pairs<Kind>(absl::GetFlag(FLAGS_test), absl::GetFlag(FLAGS_test_count), seed + 1);
  if (!test.ok()) return Fail(test.error().message);
  auto train_examples = Kind::WriteSplit(out, "train", *train, true, seed, num_aug, Progress);
  if (!train_examples.ok()) return Fail(train_examples.error().message);
  auto test_examples = Kind::WriteSplit(out, "test", *test, false, seed, num_aug, {});
  if (!test_examples.ok()) return Fail(test_examples.error().message);
  if (auto ok = WriteIdentifiers(out, {"<blank>"}); !ok.ok()) return Fail(ok.error().message);
  std::cerr << "wrote " << out << ": train " << *train_examples << " examples, test "
            << *test_examples << "\n";
  return 0;
}

int Build(const std::string& kind) {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return Fail("build needs --out DIR");
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const int num_aug = absl::GetFlag(FLAGS_num_aug);
  if (kind == "arc") {
    std::vector<ArcTask> train, test;
    for (const auto& subset : absl::StrSplit(absl::GetFlag(FLAGS_subsets), ',')) {
      std::string prefix = absl::GetFlag(FLAGS_arc_dir) + "/arc-agi_" + std::string(subset);
      std::string solutions = prefix + "_solutions.json";
      if (!std::filesystem::exists(solutions)) solutions.clear();
      auto tasks = ReadArcTasks(prefix + "_challenges.json", solutions);
      if (!tasks.ok()) return Fail(tasks.error().message);
      auto& dest = subset == absl::GetFlag(FLAGS_test_set) ? test : train;
      dest.insert(dest.end(), tasks->begin(), tasks->end());
      std::cerr << "read " << tasks->size() << " tasks from " << prefix << "_challenges.json\n";
    }
    ArcDatasetOptions options;
    if (seed != 0) options.seed = seed;
    if (num_aug >= 0) options.num_aug = num_aug;
    // Streamed to disk: the official 1000 augmentations make ~3M examples.
    auto summary = WriteArcDatasetStreaming(out, train, test, options, Progress);
    if (!summary.ok()) return Fail(summary.error().message);
    std::cerr << "wrote " << out << ": train " << summary->train_examples << " examples, test "
              << summary->test_examples << ", " << summary->identifiers << " identifiers\n";
    return 0;
  }
  return kind == "sudoku" ? BuildGrids<SudokuKind>(out, seed, num_aug)
                          : BuildGrids<MazeKind>(out, seed, num_aug);
}

}  // namespace

int main(int argc, char** argv) {
  // `-h` and `help` have always asked for the help as well: they become --help, whose text
  // (the usage, then trm-data's flags) ParseProgramFlags prints, like every program's.
  static char kHelpFlag[] = "--help";
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "-h" || std::string_view(argv[i]) == "help") {
      argv[i] = kHelpFlag;
    }
  }
  std::vector<char*> args = trm::ParseProgramFlags(argc, argv, kUsage);
  if (args.size() < 3) {
    std::cerr << kUsage;
    return Fail("expected a command and a puzzle kind, e.g. `trm-data solve sudoku FILE`");
  }
  const std::string command = args[1], kind = args[2];
  const bool arc_ok = command == "build";
  if (kind != "sudoku" && kind != "maze" && !(arc_ok && kind == "arc")) {
    return Fail("unknown puzzle kind '" + kind + "' for " + command + " (sudoku, maze" +
                (arc_ok ? ", arc)" : ")"));
  }
  const size_t operands = args.size() - 3;
  auto need = [&](size_t n, const char* what) {
    return operands == n ? 0 : Fail(command + " " + kind + " expects " + what);
  };
  const bool sudoku = kind == "sudoku";
  if (command == "solve") {
    if (int rc = need(1, "one FILE")) return rc;
    return sudoku ? Solve<SudokuKind>(args[3]) : Solve<MazeKind>(args[3]);
  }
  if (command == "verify") {
    if (int rc = need(2, "PUZZLES and ANSWERS files")) return rc;
    return sudoku ? Verify<SudokuKind>(args[3], args[4]) : Verify<MazeKind>(args[3], args[4]);
  }
  if (command == "generate") {
    if (int rc = need(0, "no file operands")) return rc;
    return Generate(kind);
  }
  if (command == "build") {
    if (int rc = need(0, "no file operands (use --train/--test/--arc_dir)")) return rc;
    return Build(kind);
  }
  return Fail("unknown command '" + command + "' (solve, verify, generate, build)");
}
