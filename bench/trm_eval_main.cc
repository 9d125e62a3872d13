// trm-eval: offline accuracy of a checkpoint through the engine, as model cards report it.
//
//   trm-eval --checkpoint=checkpoints/sudoku --puzzles=../shared/data/sudoku/x.txt --limit=200
//   trm-eval --checkpoint=run/step_1000.pt --dataset=data/sudoku-extreme --split=test
//
// Prints the command and machine, one JSON line of figures and a short summary. --halting=fixed
// (default) is the paper's evaluation: every puzzle runs halt_max_steps steps; --halting=act
// stops each puzzle when its Q head says so.
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "base/program_flags.h"
#include "bench/eval_set.h"
#include "bench/machine.h"
#include "engine/engine.h"
#include "model/eval_tally.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, checkpoint, "", "Checkpoint: own directory or official .pt (required)");
ABSL_FLAG(std::string, puzzles, "", "Sudoku or maze puzzle file");
ABSL_FLAG(std::string, dataset, "", "Official dataset directory (instead of --puzzles)");
ABSL_FLAG(std::string, split, "test", "Dataset split");
ABSL_FLAG(int, limit, 0, "At most this many puzzles (0: all)");
ABSL_FLAG(std::string, halting, "fixed", "fixed (halt_max_steps, the paper's evaluation) | act");
ABSL_FLAG(int, max_steps, 0, "ACT steps cap (0: the checkpoint's halt_max_steps)");
ABSL_FLAG(double, halt_threshold, 0,
          "Halting threshold on sigmoid(q_halt) for --halting=act and the halting figures (0: the "
          "model's default, else 0.5)");
ABSL_FLAG(std::string, answers, "",
          "Also write one JSON line per example (name, exact, confidence, steps, answer tokens) "
          "to this file, for error analysis");
ABSL_FLAG(int, dihedral_views, 0,
          "Sudoku/maze: rotations/reflections per puzzle, which vote (0: the model's default)");
ABSL_FLAG(int, max_batch, 64, "Batch slots");
ABSL_FLAG(std::string, device, "auto", "auto | cpu | cuda | cuda:N");
ABSL_FLAG(int, threads, 0, "torch intra-op threads (0: the machine's cores)");
ABSL_FLAG(std::string, cpu_kernels, "auto",
          "The ACT step on the CPU: auto | avx512 | avx2 | reference (one libtorch op per "
          "official op), as trm-server's --cpu_kernels");

namespace trm::bench {
namespace {

int Main(int argc, char** argv) {
  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  const std::string halting = absl::GetFlag(FLAGS_halting);
  if (checkpoint.empty()) {
    std::cerr << "trm-eval: --checkpoint is required\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_puzzles).empty() == absl::GetFlag(FLAGS_dataset).empty()) {
    std::cerr << "trm-eval: give exactly one of --puzzles and --dataset\n";
    return 2;
  }
  if (halting != "fixed" && halting != "act") {
    std::cerr << "trm-eval: --halting \"" << halting << "\" is not fixed or act\n";
    return 2;
  }
  engine::EngineOptions options;
  options.device = absl::GetFlag(FLAGS_device);
  options.num_threads = absl::GetFlag(FLAGS_threads);
  options.cpu_kernels = absl::GetFlag(FLAGS_cpu_kernels);
  options.scheduler.max_batch_size = absl::GetFlag(FLAGS_max_batch);
  // Every puzzle is queued at once; the queue must hold them all.
  options.scheduler.max_queue_size = 1 << 30;
  auto engine = engine::Engine::Create(options);
  if (!engine.ok()) {
    std::cerr << "trm-eval: " << engine.status() << "\n";
    return 1;
  }
  if (absl::Status s = (*engine)->LoadModel("eval", checkpoint); !s.ok()) {
    std::cerr << "trm-eval: " << s << "\n";
    return 1;
  }
  const engine::ModelInfo info = *(*engine)->ResolveModel("eval", engine::TaskKind::kTokens);
  absl::StatusOr<std::vector<EvalExample>> examples;
  if (!absl::GetFlag(FLAGS_puzzles).empty()) {
    const std::string task = engine::TaskKindName(info.task);
    const int side = info.maze_side > 0 ? info.maze_side : 30;
    examples = ReadPuzzleFile(absl::GetFlag(FLAGS_puzzles), task, side, absl::GetFlag(FLAGS_limit));
  } else {
    examples = ReadDatasetExamples(absl::GetFlag(FLAGS_dataset), absl::GetFlag(FLAGS_split),
                                   absl::GetFlag(FLAGS_limit));
  }
  if (!examples.ok()) {
    std::cerr << "trm-eval: " << examples.status() << "\n";
    return 1;
  }
  const double flag_threshold = absl::GetFlag(FLAGS_halt_threshold);
  if (!(flag_threshold >= 0 && flag_threshold <= 1)) {
    std::cerr << "trm-eval: --halt_threshold " << flag_threshold << " is outside [0, 1]\n";
    return 2;
  }
  std::ofstream answers;
  if (const std::string path = absl::GetFlag(FLAGS_answers); !path.empty()) {
    answers.open(path);
    if (!answers) {
      std::cerr << "trm-eval: --answers " << path << ": cannot write\n";
      return 1;
    }
  }
  absl::Mutex mu;
  model::EvalTally metrics;
  // 0: the threshold the engine halts this model at by default (its checkpoint's, else 0.5).
  metrics.halt_threshold =
      flag_threshold > 0 ? static_cast<float>(flag_threshold) : info.halt_threshold;
  size_t done = 0;
  std::string first_error;
  const absl::Time start = absl::Now();
  for (const EvalExample& e : *examples) {
    engine::Request r;
    r.tokens = e.input;
    r.puzzle_identifier = e.puzzle_identifier;
    r.request_id = e.name;
    r.halt.max_steps = absl::GetFlag(FLAGS_max_steps);
    r.halt.ignore_halting = halting == "fixed";
    r.halt.halt_threshold = metrics.halt_threshold;
    r.dihedral_views = absl::GetFlag(FLAGS_dihedral_views);
    r.on_done = [&, ex = &e](engine::Result res) {
      absl::MutexLock lock(&mu);
      ++done;
      if (!res.status.ok()) {
        ++metrics.failed;
        if (first_error.empty()) first_error = std::string(res.status.message());
        return;
      }
      const bool exact = metrics.Add(ex->label, res.answer_tokens, res.confidence, res.steps);
      if (answers.is_open()) {
        answers << nlohmann::json{{"name", ex->name},
                                  {"exact", exact},
                                  {"confidence", res.confidence},
                                  {"steps", res.steps},
                                  {"answer", res.answer_tokens}}
                       .dump()
                << "\n";
      }
    };
    if (absl::Status s = (*engine)->Submit("eval", std::move(r)); !s.ok()) {
      std::cerr << "trm-eval: " << e.name << ": " << s << "\n";
      return 1;
    }
  }
  {
    absl::MutexLock lock(&mu);
    const size_t n = examples->size();
    auto all = [&done, n]() { return done == n; };
    mu.Await(absl::Condition(&all));
  }
  const double wall = absl::ToDoubleSeconds(absl::Now() - start);
  if (answers.is_open() && !answers.flush()) {
    std::cerr << "trm-eval: --answers " << absl::GetFlag(FLAGS_answers) << ": write failed\n";
    return 1;
  }
  const MachineInfo machine = DescribeMachine();
  nlohmann::json hist = nlohmann::json::object();
  for (const auto& [steps, count] : metrics.steps_histogram) hist[std::to_string(steps)] = count;
  nlohmann::json j = {{"kind", "eval"},
                      {"command", CommandLine(argc, argv)},
                      {"machine", absl::StrFormat("%s, %d cores", machine.cpu, machine.cores)},
                      {"model", info.name},
                      {"model_version", info.version},
                      {"task", engine::TaskKindName(info.task)},
                      {"halting", halting},
                      {"examples", metrics.examples},
                      {"failed", metrics.failed},
                      {"exact_accuracy", metrics.exact_accuracy()},
                      {"cell_accuracy", metrics.cell_accuracy()},
                      {"halt_threshold", metrics.halt_threshold},
                      {"dihedral_views", absl::GetFlag(FLAGS_dihedral_views) > 0
                                             ? absl::GetFlag(FLAGS_dihedral_views)
                                             : info.dihedral_views},
                      {"halt_accuracy", metrics.halt_accuracy()},
                      {"halt_precision", metrics.halt_precision()},
                      {"confident_share", metrics.confident_share()},
                      {"mean_steps", metrics.mean_steps()},
                      {"steps_histogram", hist},
                      {"wall_s", wall},
                      {"puzzles_per_s", metrics.examples / wall}};
  std::cout << "# command: " << CommandLine(argc, argv) << "\n# machine: " << machine.cpu << ", "
            << machine.cores << " cores, load " << machine.load_1m << "\n"
            << j.dump() << "\n"
            << absl::StrFormat(
                   "exact %.2f%%  cells %.2f%%  halting %.2f%% (precision %.2f%% of %.2f%% vouched "
                   "for at %.2f)  mean steps %.2f  %d puzzles in %.1f s\n",
                   100 * metrics.exact_accuracy(), 100 * metrics.cell_accuracy(),
                   100 * metrics.halt_accuracy(), 100 * metrics.halt_precision(),
                   100 * metrics.confident_share(), metrics.halt_threshold, metrics.mean_steps(),
                   metrics.examples, wall);
  if (metrics.failed > 0) {
    std::cerr << "trm-eval: " << metrics.failed << " requests failed, first: " << first_error
              << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace trm::bench

int main(int argc, char** argv) {
  trm::ParseProgramFlags(argc, argv,
                         "Accuracy of a checkpoint: trm-eval --checkpoint=DIR --puzzles=FILE");
  return trm::bench::Main(argc, argv);
}
