#include "puzzle/maze.h"

#include <string>

#include "puzzle/maze_solver.h"

namespace trm::puzzle {
namespace {

constexpr char kChars[] = "?# SGo";  // Index = token; 0 (pad) has no character.

std::string Cell(int row, int col) {
  return "r" + std::to_string(row + 1) + "c" + std::to_string(col + 1);
}

std::string Printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  char buf[8];
  snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
  return buf;
}

int TokenOf(char c) {
  switch (c) {
    case '#':
      return kMazeWall;
    case ' ':
      return kMazeOpen;
    case 'S':
      return kMazeStart;
    case 'G':
      return kMazeGoal;
    case 'o':
      return kMazePath;
    default:
      return -1;
  }
}

std::string Quoted(uint8_t token) {
  return token >= 1 && token <= 5 ? std::string("'") + kChars[token] + "'" : "pad";
}

}  // namespace

Expected<Maze> ParseMazeRows(const std::vector<std::string>& rows) {
  std::vector<std::string> lines = rows;
  for (auto& line : lines) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty() || lines[0].empty()) return Error{"maze: empty"};
  if (lines.size() > kMazeMaxSide) {
    return Error{"maze: " + std::to_string(lines.size()) + " rows exceed the maximum side 30"};
  }
  Maze maze;
  maze.rows = static_cast<int>(lines.size());
  maze.cols = static_cast<int>(lines[0].size());
  if (maze.cols > kMazeMaxSide) {
    return Error{"maze: " + std::to_string(maze.cols) + " columns exceed the maximum side 30"};
  }
  maze.cells.reserve(maze.rows * maze.cols);
  for (int r = 0; r < maze.rows; ++r) {
    const std::string& line = lines[r];
    if (static_cast<int>(line.size()) != maze.cols) {
      return Error{"maze: row " + std::to_string(r + 1) + " has " + std::to_string(line.size()) +
                   " characters, row 1 has " + std::to_string(maze.cols)};
    }
    for (int c = 0; c < maze.cols; ++c) {
      int token = TokenOf(line[c]);
      if (token < 0) {
        return Error{"maze: bad character '" + Printable(line[c]) + "' at row " +
                     std::to_string(r + 1) + ", column " + std::to_string(c + 1)};
      }
      maze.cells.push_back(static_cast<uint8_t>(token));
    }
  }
  return maze;
}

Expected<Maze> ParseMaze(std::string_view text) {
  std::vector<std::string> rows;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    rows.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return ParseMazeRows(rows);
}

Expected<void> ValidateMaze(const Maze& maze, bool allow_path) {
  if (maze.rows < 1 || maze.cols < 1 || maze.rows > kMazeMaxSide || maze.cols > kMazeMaxSide ||
      static_cast<int>(maze.cells.size()) != maze.rows * maze.cols) {
    return Error{"maze: size " + std::to_string(maze.rows) + "x" + std::to_string(maze.cols) +
                 " with " + std::to_string(maze.cells.size()) +
                 " cells is not a grid of at most 30x30"};
  }
  int start = -1, goal = -1;
  for (int i = 0; i < maze.rows * maze.cols; ++i) {
    int r = i / maze.cols, c = i % maze.cols;
    uint8_t t = maze.cells[i];
    if (t < kMazeWall || t > kMazePath) {
      return Error{"maze: token " + std::to_string(t) + " at " + Cell(r, c) + " is outside 1..5"};
    }
    if (t == kMazePath && !allow_path) {
      return Error{"maze: path mark 'o' at " + Cell(r, c) + " in a puzzle"};
    }
    int& seen = t == kMazeStart ? start : goal;
    if (t == kMazeStart || t == kMazeGoal) {
      if (seen >= 0) {
        return Error{std::string("maze: 2 ") + (t == kMazeStart ? "starts 'S'" : "goals 'G'") +
                     " (" + Cell(seen / maze.cols, seen % maze.cols) + " and " + Cell(r, c) + ")"};
      }
      seen = i;
    }
  }
  if (start < 0) return Error{"maze: no start 'S'"};
  if (goal < 0) return Error{"maze: no goal 'G'"};
  return Ok();
}

Expected<Maze> ParseValidMaze(std::string_view text) {
  auto maze = ParseMaze(text);
  if (!maze.ok()) return maze;
  if (auto valid = ValidateMaze(*maze); !valid.ok()) return valid.error();
  return maze;
}

Expected<void> VerifyMazeAnswer(const Maze& puzzle, const Maze& answer) {
  if (auto valid = ValidateMaze(puzzle); !valid.ok()) return valid.error();
  if (answer.rows != puzzle.rows || answer.cols != puzzle.cols ||
      answer.cells.size() != puzzle.cells.size()) {
    return Error{"maze answer: size " + std::to_string(answer.rows) + "x" +
                 std::to_string(answer.cols) + " differs from the puzzle's " +
                 std::to_string(puzzle.rows) + "x" + std::to_string(puzzle.cols)};
  }
  const int n = puzzle.rows * puzzle.cols;
  int marks = 0, start = -1;
  for (int i = 0; i < n; ++i) {
    uint8_t p = puzzle.cells[i], a = answer.cells[i];
    if (p == kMazeStart) start = i;
    if (a == p) continue;
    if (a == kMazePath && p == kMazeOpen) {
      ++marks;
      continue;
    }
    return Error{"maze answer: cell " + Cell(i / puzzle.cols, i % puzzle.cols) + " is " +
                 Quoted(a) + " but the puzzle has " + Quoted(p)};
  }
  const int shortest = ShortestMazePathLength(puzzle);
  if (shortest < 0) return Error{"maze answer: the puzzle has no path from S to G"};

  // The marks with S and G must be connected: flood from S through marks to G.
  std::vector<char> seen(n, 0);
  std::vector<int> stack = {start};
  seen[start] = 1;
  bool reached_goal = false;
  while (!stack.empty()) {
    int i = stack.back();
    stack.pop_back();
    int r = i / puzzle.cols, c = i % puzzle.cols;
    const int dr[] = {-1, 1, 0, 0}, dc[] = {0, 0, -1, 1};
    for (int k = 0; k < 4; ++k) {
      int nr = r + dr[k], nc = c + dc[k];
      if (nr < 0 || nc < 0 || nr >= puzzle.rows || nc >= puzzle.cols) continue;
      int j = nr * puzzle.cols + nc;
      if (seen[j]) continue;
      if (answer.cells[j] == kMazeGoal) {
        reached_goal = true;  // Do not walk on past G.
        seen[j] = 1;
      } else if (answer.cells[j] == kMazePath) {
        seen[j] = 1;
        stack.push_back(j);
      }
    }
  }
  if (!reached_goal) return Error{"maze answer: the marked path does not connect S to G"};
  for (int i = 0; i < n; ++i) {
    if (answer.cells[i] == kMazePath && !seen[i]) {
      return Error{"maze answer: 'o' at " + Cell(i / puzzle.cols, i % puzzle.cols) +
                   " is not on the path from S to G"};
    }
  }
  // Connected marks contain an S..G walk of at least `shortest` steps, which needs at least
  // shortest - 1 marks; exactly that many means the marks are one shortest simple path.
  if (marks + 1 != shortest) {
    return Error{"maze answer: path is " + std::to_string(marks + 1) + " steps, the shortest is " +
                 std::to_string(shortest)};
  }
  return Ok();
}

std::vector<std::string> MazeToRows(const Maze& maze) {
  std::vector<std::string> rows(maze.rows, std::string(maze.cols, '?'));
  for (int r = 0; r < maze.rows; ++r) {
    for (int c = 0; c < maze.cols; ++c) {
      uint8_t t = maze.at(r, c);
      rows[r][c] = t <= 5 ? kChars[t] : '?';
    }
  }
  return rows;
}

std::string MazeToString(const Maze& maze) {
  std::string s;
  for (const auto& row : MazeToRows(maze)) {
    if (!s.empty()) s += '\n';
    s += row;
  }
  return s;
}

Expected<std::vector<int32_t>> MazeToTokens(const Maze& maze, int side) {
  if (maze.rows > side || maze.cols > side || maze.rows < 0 || maze.cols < 0) {
    return Error{"maze: " + std::to_string(maze.rows) + "x" + std::to_string(maze.cols) +
                 " does not fit the " + std::to_string(side) + "x" + std::to_string(side) +
                 " frame"};
  }
  std::vector<int32_t> tokens(side * side, kMazeWall);
  for (int r = 0; r < maze.rows; ++r) {
    for (int c = 0; c < maze.cols; ++c) tokens[r * side + c] = maze.at(r, c);
  }
  return tokens;
}

Expected<Maze> MazeFromTokens(std::span<const int32_t> tokens, int rows, int cols, int side) {
  if (side < 1 || static_cast<int64_t>(tokens.size()) != int64_t(side) * side) {
    return Error{"maze tokens: expected " + std::to_string(int64_t(side) * side) + " tokens, got " +
                 std::to_string(tokens.size())};
  }
  if (rows < 1 || cols < 1 || rows > side || cols > side) {
    return Error{"maze tokens: size " + std::to_string(rows) + "x" + std::to_string(cols) +
                 " does not fit the " + std::to_string(side) + "x" + std::to_string(side) +
                 " frame"};
  }
  Maze maze;
  maze.rows = rows;
  maze.cols = cols;
  maze.cells.resize(rows * cols);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      int32_t t = tokens[r * side + c];
      if (t < kMazeWall || t > kMazePath) {
        return Error{"maze tokens: token " + std::to_string(t) + " at " + Cell(r, c) +
                     " is outside 1..5"};
      }
      maze.cells[r * cols + c] = static_cast<uint8_t>(t);
    }
  }
  return maze;
}

}  // namespace trm::puzzle
