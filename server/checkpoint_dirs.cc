#include "server/checkpoint_dirs.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace trm::server {
namespace fs = std::filesystem;
namespace {

bool IsModelDir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "config.json", ec);
}

std::string NameOf(const fs::path& path) {
  return path.extension() == ".pt" ? path.stem().string() : path.filename().string();
}

}  // namespace

absl::StatusOr<std::vector<CheckpointSpec>> ExpandCheckpoints(
    const std::vector<std::string>& entries) {
  std::vector<CheckpointSpec> out;
  for (const std::string& entry : entries) {
    if (entry.empty()) continue;
    std::string name;
    std::string path = entry;
    if (size_t eq = entry.find('='); eq != std::string::npos) {
      name = entry.substr(0, eq);
      path = entry.substr(eq + 1);
      if (name.empty())
        return absl::InvalidArgumentError(
            absl::StrCat("--checkpoints: entry \"", entry, "\" has an empty name"));
    }
    fs::path p = fs::path(path).lexically_normal();
    if (p.has_filename() == false) p = p.parent_path();
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      return absl::NotFoundError(absl::StrCat("--checkpoints: ", path, " does not exist"));
    }
    if (fs::is_regular_file(p, ec) || IsModelDir(p)) {
      out.push_back({name.empty() ? NameOf(p) : name, p.string()});
      continue;
    }
    if (!name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--checkpoints: ", path, " has no config.json, so it is not one model"));
    }
    // A folder of model folders (the repository's checkpoints/).
    std::vector<fs::path> models;
    for (const auto& child : fs::directory_iterator(p, ec)) {
      if (child.is_directory() && IsModelDir(child.path())) models.push_back(child.path());
    }
    std::sort(models.begin(), models.end());
    for (const auto& m : models) out.push_back({NameOf(m), m.string()});
  }
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (out[i].name == out[j].name) {
        return absl::InvalidArgumentError(absl::StrCat("--checkpoints: model name \"", out[i].name,
                                                       "\" is used by ", out[j].path, " and ",
                                                       out[i].path));
      }
    }
  }
  return out;
}

std::string FindDefaultCheckpointsDir() {
  std::error_code ec;
  if (fs::is_directory("checkpoints", ec)) return fs::absolute("checkpoints", ec).string();
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    if (fs::is_directory(dir / "checkpoints", ec)) return (dir / "checkpoints").string();
  }
  return "";
}

}  // namespace trm::server
