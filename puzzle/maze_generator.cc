#include "puzzle/maze_generator.h"

#include <algorithm>
#include <string>

#include "puzzle/maze_solver.h"

namespace trm::puzzle {
namespace {

Expected<void> CheckOptions(const MazeGeneratorOptions& o) {
  auto fail = [](const std::string& m) { return Error{"maze generator: " + m}; };
  if (o.side < 5 || o.side > kMazeMaxSide) {
    return fail("side " + std::to_string(o.side) + " is outside 5..30");
  }
  if (!(o.loop_fraction >= 0 && o.loop_fraction <= 1)) {
    return fail("loop_fraction " + std::to_string(o.loop_fraction) + " is outside 0..1");
  }
  if (o.min_path_length < 0) {
    return fail("min_path_length " + std::to_string(o.min_path_length) + " is negative");
  }
  if (o.max_path_length >= 0 && o.max_path_length < o.min_path_length) {
    return fail("max_path_length " + std::to_string(o.max_path_length) +
                " is below min_path_length " + std::to_string(o.min_path_length));
  }
  if (o.max_attempts < 1) return fail("max_attempts must be at least 1");
  return Ok();
}

// A perfect maze on the odd cells (randomized DFS), then loops: inner walls between two open
// cells in a line knocked out with probability loop_fraction.
Maze Carve(int side, double loop_fraction, std::mt19937_64& rng) {
  Maze maze{side, side, std::vector<uint8_t>(side * side, kMazeWall)};
  const int last = (side - 2) % 2 == 1 ? side - 2 : side - 3;  // Last odd index inside the border.
  auto index = [side](int r, int c) { return r * side + c; };
  std::vector<std::pair<int, int>> stack = {{1, 1}};
  maze.cells[index(1, 1)] = kMazeOpen;
  const int dr[] = {-2, 2, 0, 0}, dc[] = {0, 0, -2, 2};
  while (!stack.empty()) {
    auto [r, c] = stack.back();
    int options[4], n = 0;
    for (int k = 0; k < 4; ++k) {
      int nr = r + dr[k], nc = c + dc[k];
      if (nr >= 1 && nc >= 1 && nr <= last && nc <= last &&
          maze.cells[index(nr, nc)] == kMazeWall) {
        options[n++] = k;
      }
    }
    if (n == 0) {
      stack.pop_back();
      continue;
    }
    int k = options[std::uniform_int_distribution<int>(0, n - 1)(rng)];
    maze.cells[index(r + dr[k] / 2, c + dc[k] / 2)] = kMazeOpen;
    maze.cells[index(r + dr[k], c + dc[k])] = kMazeOpen;
    stack.push_back({r + dr[k], c + dc[k]});
  }
  std::bernoulli_distribution knock(loop_fraction);
  for (int r = 1; r <= last; ++r) {
    for (int c = 1; c <= last; ++c) {
      if (maze.cells[index(r, c)] != kMazeWall) continue;
      bool vertical =
          maze.cells[index(r - 1, c)] == kMazeOpen && maze.cells[index(r + 1, c)] == kMazeOpen;
      bool horizontal =
          maze.cells[index(r, c - 1)] == kMazeOpen && maze.cells[index(r, c + 1)] == kMazeOpen;
      if ((vertical != horizontal) && knock(rng)) maze.cells[index(r, c)] = kMazeOpen;
    }
  }
  return maze;
}

}  // namespace

MazeGenerator::MazeGenerator(const MazeGeneratorOptions& options)
    : options_(options), rng_(options.seed) {}

Expected<GeneratedMaze> MazeGenerator::Next() {
  if (auto ok = CheckOptions(options_); !ok.ok()) return ok.error();
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    Maze maze = Carve(options_.side, options_.loop_fraction, rng_);
    std::vector<int> open;
    for (int i = 0; i < maze.rows * maze.cols; ++i) {
      if (maze.cells[i] == kMazeOpen) open.push_back(i);
    }
    std::uniform_int_distribution<size_t> pick(0, open.size() - 1);
    // A few endpoint draws per carved maze: carving costs more than a BFS.
    for (int tries = 0; tries < 8; ++tries, ++attempt) {
      int s = open[pick(rng_)], g = open[pick(rng_)];
      if (s == g) continue;
      maze.cells[s] = kMazeStart;
      maze.cells[g] = kMazeGoal;
      MazeSolveResult solved = SolveMaze(maze);
      if (solved.solvable && (solved.unique || !options_.unique_shortest_path) &&
          solved.path_length >= options_.min_path_length &&
          (options_.max_path_length < 0 || solved.path_length <= options_.max_path_length)) {
        return GeneratedMaze{maze, solved.solution, solved.path_length};
      }
      maze.cells[s] = kMazeOpen;
      maze.cells[g] = kMazeOpen;
    }
  }
  return Error{"maze generator: no " + std::to_string(options_.side) + "x" +
               std::to_string(options_.side) + " maze with a shortest path of " +
               std::to_string(options_.min_path_length) + ".." +
               (options_.max_path_length < 0 ? std::string("inf")
                                             : std::to_string(options_.max_path_length)) +
               " steps" + (options_.unique_shortest_path ? " (unique)" : "") + " in " +
               std::to_string(options_.max_attempts) + " attempts"};
}

}  // namespace trm::puzzle
