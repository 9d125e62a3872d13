// libFuzzer target: the maze parser, then validation, BFS and verification of BFS's answer.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "puzzle/maze.h"
#include "puzzle/maze_solver.h"

using namespace trm::puzzle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto maze = ParseMaze(text);
  if (!maze.ok()) {
    if (maze.error().message.empty()) abort();
    return 0;
  }
  auto again = ParseMaze(MazeToString(*maze));
  if (!again.ok() || *again != *maze) abort();
  auto tokens = MazeToTokens(*maze);
  if (!tokens.ok()) abort();
  auto decoded = MazeFromTokens(*tokens, maze->rows, maze->cols);
  if (!decoded.ok() || *decoded != *maze) abort();
  if (!ValidateMaze(*maze).ok()) return 0;
  auto solved = SolveMaze(*maze);
  if (solved.solvable) {
    if (!VerifyMazeAnswer(*maze, solved.solution).ok()) abort();
  } else if (VerifyMazeAnswer(*maze, *maze).ok()) {
    abort();
  }
  return 0;
}
