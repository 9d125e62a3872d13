#include "server/checkpoint_dirs.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

std::vector<std::string> DefaultCheckpointRoots(const std::vector<std::string>& entries) {
  std::vector<std::string> roots;
  for (const std::string& entry : entries) {
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    fs::path p =
        fs::path(eq == std::string::npos ? entry : entry.substr(eq + 1)).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    // A model (folder or .pt file) is confined with its siblings; a folder of models is itself.
    if (fs::is_regular_file(p, ec) || IsModelDir(p)) p = fs::absolute(p, ec).parent_path();
    std::string root = fs::absolute(p, ec).lexically_normal().string();
    if (std::find(roots.begin(), roots.end(), root) == roots.end()) roots.push_back(root);
  }
  return roots;
}

absl::StatusOr<std::vector<std::string>> CanonicalRoots(const std::vector<std::string>& roots) {
  std::vector<std::string> out;
  for (const std::string& root : roots) {
    if (root.empty()) continue;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
      return absl::NotFoundError(
          absl::StrCat("--checkpoint_roots: ", root,
                       fs::exists(root, ec) ? " is not a directory" : " does not exist"));
    }
    fs::path canonical = fs::weakly_canonical(root, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("--checkpoint_roots: ", root, ": ", ec.message()));
    }
    // "/a/b/" and "/a/b" are one root; keep the form without the trailing separator.
    if (!canonical.has_filename() && canonical.has_relative_path()) {
      canonical = canonical.parent_path();
    }
    if (std::find(out.begin(), out.end(), canonical.string()) == out.end())
      out.push_back(canonical.string());
  }
  return out;
}

absl::StatusOr<std::string> ConfineToRoots(const std::string& path,
                                           const std::vector<std::string>& canonical_roots) {
  auto denied = [&](const std::string& why) {
    return absl::PermissionDeniedError(
        absl::StrCat("checkpoint_path ", path, why, " is not inside the checkpoint roots [",
                     absl::StrJoin(canonical_roots, ", "), "] (trm-server --checkpoint_roots)"));
  };
  if (path.empty() || path.find('\0') != std::string::npos) return denied("");
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(path, ec);
  if (ec) return denied(absl::StrCat(" (", ec.message(), ")"));
  for (const std::string& root : canonical_roots) {
    // Component by component, so /a/bc is not inside /a/b.
    const fs::path r(root);
    auto [r_end, p_it] = std::mismatch(r.begin(), r.end(), resolved.begin(), resolved.end());
    if (r_end == r.end()) return resolved.string();
  }
  return denied(resolved.string() == path ? ""
                                          : absl::StrCat(" (resolved: ", resolved.string(), ")"));
}

}  // namespace trm::server
