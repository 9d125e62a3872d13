// Seeded maze generator, including the paper's Maze-Hard recipe (30x30 mazes kept only if the
// shortest path is longer than 110 steps).
//
// Recipe: a perfect maze carved by randomized depth-first search on the odd cells of the grid,
// then a fraction of inner walls knocked out to make loops (so "shortest" matters), then S and G
// placed on random open cells; kept when the shortest S..G path is within the length band and,
// by default, the only shortest path.
#pragma once

#include <cstdint>
#include <random>

#include "puzzle/expected.h"
#include "puzzle/maze.h"

namespace trm::puzzle {

struct MazeGeneratorOptions {
  uint64_t seed = 0;
  int side = kMazeMaxSide;     // Square side, 5..30.
  double loop_fraction = 0.1;  // Share of removable inner walls knocked out after carving.
  int min_path_length = 0;     // Keep only mazes whose shortest path is >= this many steps.
  int max_path_length = -1;    // < 0: no upper bound.
  int max_attempts = 100000;   // Per Next() call, before it gives up with an error.
  // Keep only mazes with one shortest path, so the labelled answer is the only right one
  // (loops otherwise tie about 15% of 9x9 mazes).
  bool unique_shortest_path = true;

  // The paper's Maze-Hard: 30x30, shortest path longer than 110.
  static MazeGeneratorOptions MazeHard(uint64_t seed) {
    MazeGeneratorOptions o;
    o.seed = seed;
    o.side = 30;
    o.min_path_length = 111;
    return o;
  }
};

struct GeneratedMaze {
  Maze puzzle;
  Maze solution;
  int path_length = 0;
};

class MazeGenerator {
 public:
  // Options are checked by Next(); errors name the field (`maze generator: side 3 is outside
  // 5..30`).
  explicit MazeGenerator(const MazeGeneratorOptions& options);
  Expected<GeneratedMaze> Next();  // Deterministic for a given seed and options.

 private:
  MazeGeneratorOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace trm::puzzle
