#include "puzzle/maze_solver.h"

#include <algorithm>

namespace trm::puzzle {
namespace {

// BFS from S; fills `parent` (-1 unvisited, S its own parent) and, when `paths` is given, the
// number of shortest S..cell paths per cell (saturating at 2: callers only ask "unique?").
// Returns G's index or -1.
int Bfs(const Maze& maze, std::vector<int>& parent, int& start, std::vector<int>* paths = nullptr) {
  const int n = maze.rows * maze.cols;
  if (maze.rows < 1 || maze.cols < 1 || static_cast<int>(maze.cells.size()) != n) return -1;
  start = -1;
  int goal = -1, starts = 0, goals = 0;
  for (int i = 0; i < n; ++i) {
    if (maze.cells[i] == kMazeStart) start = i, ++starts;
    if (maze.cells[i] == kMazeGoal) goal = i, ++goals;
  }
  if (starts != 1 || goals != 1) return -1;
  parent.assign(n, -1);
  std::vector<int> depth(n, -1);
  if (paths != nullptr) paths->assign(n, 0);
  std::vector<int> queue = {start};
  parent[start] = start;
  depth[start] = 0;
  if (paths != nullptr) (*paths)[start] = 1;
  const int dr[] = {-1, 1, 0, 0}, dc[] = {0, 0, -1, 1};  // up, down, left, right
  for (size_t head = 0; head < queue.size(); ++head) {
    int i = queue[head];
    // Without counting, G's first visit settles the path; counting must see every edge into G.
    if (i == goal && paths == nullptr) return goal;
    int r = i / maze.cols, c = i % maze.cols;
    for (int k = 0; k < 4; ++k) {
      int nr = r + dr[k], nc = c + dc[k];
      if (nr < 0 || nc < 0 || nr >= maze.rows || nc >= maze.cols) continue;
      int j = nr * maze.cols + nc;
      uint8_t t = maze.cells[j];
      if (!(t == kMazeOpen || t == kMazePath || t == kMazeGoal)) continue;
      if (parent[j] < 0) {
        parent[j] = i;
        depth[j] = depth[i] + 1;
        queue.push_back(j);
      }
      if (paths != nullptr && depth[j] == depth[i] + 1) {
        (*paths)[j] = std::min(2, (*paths)[j] + (*paths)[i]);
      }
    }
  }
  return parent[goal] >= 0 ? goal : -1;
}

}  // namespace

MazeSolveResult SolveMaze(const Maze& maze) {
  MazeSolveResult result;
  std::vector<int> parent;
  std::vector<int> paths;
  int start = -1;
  int goal = Bfs(maze, parent, start, &paths);
  if (goal < 0) return result;
  result.unique = paths[goal] == 1;
  for (int i = goal; i != start; i = parent[i]) result.path.push_back(i);
  result.path.push_back(start);
  std::reverse(result.path.begin(), result.path.end());
  result.solvable = true;
  result.path_length = static_cast<int>(result.path.size()) - 1;
  result.solution = maze;
  for (auto& cell : result.solution.cells) {
    if (cell == kMazePath) cell = kMazeOpen;
  }
  for (size_t k = 1; k + 1 < result.path.size(); ++k) {
    result.solution.cells[result.path[k]] = kMazePath;
  }
  return result;
}

int ShortestMazePathLength(const Maze& maze) {
  std::vector<int> parent;
  int start = -1;
  int goal = Bfs(maze, parent, start);
  if (goal < 0) return -1;
  int steps = 0;
  for (int i = goal; i != start; i = parent[i]) ++steps;
  return steps;
}

}  // namespace trm::puzzle
