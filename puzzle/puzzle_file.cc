#include "puzzle/puzzle_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace trm::puzzle {
namespace {

// Lines without their '\n' and a trailing '\r'.
std::vector<std::string_view> Lines(std::string_view content) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

}  // namespace

std::vector<PuzzleRecord> SplitSudokuFile(std::string_view content) {
  std::vector<PuzzleRecord> records;
  auto lines = Lines(content);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (Blank(line) || line[0] == '#') continue;
    records.push_back({static_cast<int>(i + 1), std::string(line)});
  }
  return records;
}

std::vector<PuzzleRecord> SplitMazeFile(std::string_view content) {
  std::vector<PuzzleRecord> records;
  auto lines = Lines(content);
  PuzzleRecord current;
  for (size_t i = 0; i <= lines.size(); ++i) {
    bool end = i == lines.size() || lines[i].empty();
    if (!end && lines[i].substr(0, 2) == "//") continue;
    if (end) {
      if (!current.text.empty()) records.push_back(std::move(current));
      current = PuzzleRecord{};
      continue;
    }
    if (current.text.empty()) {
      current.line = static_cast<int>(i + 1);
    } else {
      current.text += '\n';
    }
    current.text += lines[i];
  }
  return records;
}

Expected<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  return out.str();
}

Expected<void> WriteTextFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Error{"cannot write " + path + ": " + std::strerror(errno)};
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) return Error{"cannot write " + path + ": " + std::strerror(errno)};
  return Ok();
}

}  // namespace trm::puzzle
