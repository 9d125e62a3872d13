// Breadth-first search over open cells (4-connected): the exact shortest path from S to G.
#pragma once

#include <vector>

#include "puzzle/maze.h"

namespace trm::puzzle {

struct MazeSolveResult {
  bool solvable = false;
  // Steps (moves) from S to G: cells on the path including S and G, minus one.
  int path_length = 0;
  std::vector<int> path;  // Row-major cell indices from S to G inclusive.
  // No other path is as short. A tie makes the answer ambiguous: a model scored against one
  // labelled path would be asked to guess the tie-break order.
  bool unique = false;
  Maze solution;  // The puzzle with the path's inner cells marked 'o'.
};

// Any 'o' in the input is treated as open. A maze without exactly one S and one G is
// unsolvable. Ties between shortest paths are broken deterministically (neighbour order up,
// down, left, right from S). Never fails.
MazeSolveResult SolveMaze(const Maze& maze);

// Shortest path length in steps, -1 when G cannot be reached.
int ShortestMazePathLength(const Maze& maze);

}  // namespace trm::puzzle
