// trm-init-checkpoint: writes a randomly initialised TRM checkpoint in the project's format.
// For tests, benchmarks of exact shapes and as the starting point of training runs.
//
//   trm-init-checkpoint --task sudoku --hidden 64 --heads 4 --out /tmp/sudoku_tiny
#include <cmath>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "base/program_flags.h"
#include "model/checkpoint.h"

ABSL_FLAG(std::string, task, "sudoku", "sudoku | maze | arc | tokens");
ABSL_FLAG(std::string, out, "", "Output directory (required)");
ABSL_FLAG(std::string, name, "", "Model name (default: the output folder's name)");
ABSL_FLAG(int, hidden, 512, "hidden_size");
ABSL_FLAG(int, heads, 8, "num_heads");
ABSL_FLAG(int, layers, 2, "L_layers");
ABSL_FLAG(int, h_cycles, 3, "H_cycles");
ABSL_FLAG(int, l_cycles, 6, "L_cycles");
ABSL_FLAG(double, expansion, 4.0, "SwiGLU expansion");
ABSL_FLAG(std::string, pos_encodings, "rope", "rope | learned | none");
ABSL_FLAG(bool, mlp_t, false, "MLP across the sequence instead of attention");
ABSL_FLAG(int, halt_max_steps, 16, "Maximum ACT steps");
ABSL_FLAG(int, puzzle_emb_ndim, -1, "Puzzle embedding width (-1: hidden for arc, 0 otherwise)");
ABSL_FLAG(int, puzzle_emb_len, 16, "Puzzle embedding prefix positions (0: ceil(ndim/hidden))");
ABSL_FLAG(int, maze_side, 30, "Maze side (task maze)");
ABSL_FLAG(int, seq_len, 0, "Sequence length (task tokens; others derive it)");
ABSL_FLAG(int, vocab, 0, "Vocabulary size (task tokens; others derive it)");
ABSL_FLAG(std::string, puzzle_identifiers, "",
          "JSON file with the list of puzzle identifier names (index = id), e.g. an official "
          "identifiers.json");
ABSL_FLAG(std::string, forward_dtype, "float32", "float32 | bfloat16");
ABSL_FLAG(int, seed, 0, "Random seed");
ABSL_FLAG(int, dihedral_views, 0,
          "Default test-time views written to config.json serving.dihedral_views (0: none)");
ABSL_FLAG(double, halt_threshold, 0,
          "Default halting threshold written to config.json serving.halt_threshold (0: none)");

int main(int argc, char** argv) {
  trm::ParseProgramFlags(
      argc, argv,
      "Writes a randomly initialised TRM checkpoint.\n  trm-init-checkpoint --task sudoku "
      "--hidden 64 --heads 4 --out DIR");
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::cerr << "trm-init-checkpoint: --out is required\n";
    return 2;
  }
  trm::TrmConfig c;
  const std::string task = absl::GetFlag(FLAGS_task);
  nlohmann::json task_json = {{"kind", task}};
  std::vector<std::string> ids;
  if (!absl::GetFlag(FLAGS_puzzle_identifiers).empty()) {
    std::ifstream in(absl::GetFlag(FLAGS_puzzle_identifiers));
    try {
      ids = nlohmann::json::parse(in).get<std::vector<std::string>>();
    } catch (const std::exception& e) {
      std::cerr << "trm-init-checkpoint: " << absl::GetFlag(FLAGS_puzzle_identifiers) << ": "
                << e.what() << "\n";
      return 2;
    }
  }
  if (task == "sudoku") {
    c.seq_len = 81;
    c.vocab_size = 11;
  } else if (task == "maze") {
    const int side = absl::GetFlag(FLAGS_maze_side);
    c.seq_len = side * side;
    c.vocab_size = 6;
    task_json["side"] = side;
  } else if (task == "arc") {
    c.seq_len = 900;
    c.vocab_size = 12;
  } else if (task == "tokens") {
    c.seq_len = absl::GetFlag(FLAGS_seq_len);
    c.vocab_size = absl::GetFlag(FLAGS_vocab);
  } else {
    std::cerr << "trm-init-checkpoint: --task must be sudoku, maze, arc or tokens, got '" << task
              << "'\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_seq_len) > 0) c.seq_len = absl::GetFlag(FLAGS_seq_len);
  if (absl::GetFlag(FLAGS_vocab) > 0) c.vocab_size = absl::GetFlag(FLAGS_vocab);
  c.hidden_size = absl::GetFlag(FLAGS_hidden);
  c.num_heads = absl::GetFlag(FLAGS_heads);
  c.L_layers = absl::GetFlag(FLAGS_layers);
  c.H_cycles = absl::GetFlag(FLAGS_h_cycles);
  c.L_cycles = absl::GetFlag(FLAGS_l_cycles);
  c.expansion = absl::GetFlag(FLAGS_expansion);
  c.pos_encodings = absl::GetFlag(FLAGS_pos_encodings);
  c.mlp_t = absl::GetFlag(FLAGS_mlp_t);
  c.halt_max_steps = absl::GetFlag(FLAGS_halt_max_steps);
  c.forward_dtype = absl::GetFlag(FLAGS_forward_dtype);
  c.puzzle_emb_ndim = absl::GetFlag(FLAGS_puzzle_emb_ndim) >= 0
                          ? absl::GetFlag(FLAGS_puzzle_emb_ndim)
                          : (task == "arc" ? c.hidden_size : 0);
  c.puzzle_emb_len = absl::GetFlag(FLAGS_puzzle_emb_len);
  c.num_puzzle_identifiers = std::max<int>(1, ids.size());
  if (const double t = absl::GetFlag(FLAGS_halt_threshold); !(t >= 0 && t <= 1)) {
    std::cerr << "trm-init-checkpoint: --halt_threshold " << t << " is outside [0, 1]\n";
    return 2;
  }
  if (const int v = absl::GetFlag(FLAGS_dihedral_views); v < 0 || v > 8) {
    std::cerr << "trm-init-checkpoint: --dihedral_views " << v << " is outside 0..8\n";
    return 2;
  }
  if (absl::Status s = c.Validate(); !s.ok()) {
    std::cerr << "trm-init-checkpoint: " << s.message() << "\n";
    return 2;
  }
  torch::manual_seed(absl::GetFlag(FLAGS_seed));
  trm::model::TrmNet net(c);
  if (c.puzzle_emb_ndim > 0) {
    // Official puzzle embeddings start at zero; random ones make a random-init model's answers
    // depend on the puzzle id, which is what tests of the ARC path need to see.
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters())
      if (p.key() == "inner.puzzle_emb.weights")
        p.value().normal_(0, 1.0 / std::sqrt(c.hidden_size));
  }
  trm::model::CheckpointInfo info;
  info.name = absl::GetFlag(FLAGS_name);
  info.task = task_json;
  info.puzzle_identifiers = ids;
  info.halt_threshold = static_cast<float>(absl::GetFlag(FLAGS_halt_threshold));
  info.dihedral_views = absl::GetFlag(FLAGS_dihedral_views);
  info.provenance = {{"made_by", "trm-init-checkpoint"},
                     {"seed", absl::GetFlag(FLAGS_seed)},
                     {"note", "random initialisation, untrained"}};
  if (absl::Status s = trm::model::SaveCheckpoint(net, info, out); !s.ok()) {
    std::cerr << "trm-init-checkpoint: " << s.message() << "\n";
    return 1;
  }
  std::cout << "wrote " << out << " (" << c.ParameterCount() << " parameters)\n";
  return 0;
}
