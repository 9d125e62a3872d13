#include "model/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "yaml-cpp/yaml.h"

namespace trm::model {
namespace fs = std::filesystem;

namespace {

constexpr char kFormat[] = "trm-serve-checkpoint";
constexpr int kFormatVersion = 1;
constexpr char kWeightsFile[] = "model.pt";
constexpr char kConfigFile[] = "config.json";

std::string ShapeString(at::IntArrayRef sizes) {
  return absl::StrCat("[", absl::StrJoin(sizes, ", "), "]");
}

// The first line of a libtorch exception: the rest is a C++ backtrace nobody wants in a log.
std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("checkpoint ", path, ": cannot open file"));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::DataLossError(absl::StrCat("checkpoint ", path, ": read failed"));
  return bytes;
}

// Short content hash (FNV-1a 64) so a model's version changes exactly when its weights do.
std::string ContentHash(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 12);
}

absl::StatusOr<StateDict> ParseStateDict(const std::string& bytes, const std::string& path) {
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("checkpoint ", path,
                                            ": not a readable torch.save file (truncated or "
                                            "corrupt?): ",
                                            FirstLine(e.what())));
  }
  if (!value.isGenericDict())
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint ", path, ": expected a state dict, found ", value.tagKind()));
  StateDict state;
  for (const auto& kv : value.toGenericDict()) {
    if (!kv.key().isString())
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", path, ": state dict has a non-string key"));
    const std::string key = kv.key().toStringRef();
    if (!kv.value().isTensor())
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", path, ": key ", key, " is not a tensor"));
    state[key] = kv.value().toTensor();
  }
  return state;
}

absl::StatusOr<nlohmann::json> ReadJson(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  try {
    return nlohmann::json::parse(*bytes);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON: ", e.what()));
  }
}

// Maps a YAML scalar/sequence/map to JSON (numbers and booleans typed as YAML spells them).
nlohmann::json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& kv : node) j[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& item : node) j.push_back(YamlToJson(item));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      try {
        size_t used = 0;
        long long i = std::stoll(s, &used);
        if (used == s.size()) return i;
        double d = std::stod(s, &used);
        if (used == s.size()) return d;
      } catch (...) {
      }
      return s;
    }
    default:
      return nullptr;
  }
}

// A task from the token layout the official dataset builders use.
nlohmann::json InferTask(const TrmConfig& c) {
  if (c.seq_len == 81 && c.vocab_size == 11) return {{"kind", "sudoku"}};
  if (c.seq_len == 900 && c.vocab_size == 12) return {{"kind", "arc"}};
  const int side = static_cast<int>(std::lround(std::sqrt(double(c.seq_len))));
  if (c.vocab_size == 6 && side * side == c.seq_len) return {{"kind", "maze"}, {"side", side}};
  return {{"kind", "tokens"}};
}

// Fills the fields a state dict fixes by its shapes; where the config already says otherwise
// the loader reports the mismatch key by key.
void InferFromShapes(const StateDict& state, TrmConfig& c, std::set<std::string>& inferred) {
  auto find = [&](const std::string& key) -> const torch::Tensor* {
    auto it = state.find(key);
    return it == state.end() ? nullptr : &it->second;
  };
  if (auto* t = find("inner.embed_tokens.embedding_weight"); t && t->dim() == 2) {
    c.vocab_size = t->size(0);
    c.hidden_size = t->size(1);
    inferred.insert("vocab_size");
    inferred.insert("hidden_size");
  }
  if (auto* t = find("inner.puzzle_emb.weights"); t && t->dim() == 2) {
    c.num_puzzle_identifiers = t->size(0);
    c.puzzle_emb_ndim = t->size(1);
    inferred.insert("puzzle_emb_ndim");
  } else {
    c.puzzle_emb_ndim = 0;
  }
  int layers = 0;
  bool mlp_t = false;
  for (const auto& [key, value] : state) {
    if (absl::StartsWith(key, "inner.L_level.layers.")) {
      const std::string rest = key.substr(std::string("inner.L_level.layers.").size());
      layers = std::max(layers, std::stoi(rest.substr(0, rest.find('.'))) + 1);
      if (rest.find(".mlp_t.") != std::string::npos) mlp_t = true;
    }
  }
  if (layers > 0) {
    c.L_layers = layers;
    c.mlp_t = mlp_t;
    inferred.insert("L_layers");
  }
  if (find("inner.embed_pos.embedding_weight")) {
    c.pos_encodings = "learned";
    inferred.insert("pos_encodings");
  }
  if (auto* t = find("inner.H_init"); t && t->scalar_type() == torch::kBFloat16) {
    c.forward_dtype = "bfloat16";
  }
}

absl::StatusOr<LoadedCheckpoint> BuildAndLoad(CheckpointInfo info, const StateDict& state,
                                              const std::string& origin, torch::Device device) {
  if (absl::Status s = info.config.Validate(); !s.ok())
    return absl::InvalidArgumentError(absl::StrCat("checkpoint ", origin, ": ", s.message()));
  LoadedCheckpoint out;
  try {
    out.net = TrmNet(info.config);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint ", origin, ": cannot build network: ", FirstLine(e.what())));
  }
  if (absl::Status s = LoadStateDictInto(out.net, state, origin); !s.ok()) return s;
  try {
    out.net->to(device);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", origin, ": cannot move to ",
                                                      device.str(), ": ", FirstLine(e.what())));
  }
  out.net->eval();
  out.info = std::move(info);
  return out;
}

absl::StatusOr<LoadedCheckpoint> LoadOwn(const fs::path& dir, const LoadOptions& options) {
  const std::string config_path = (dir / kConfigFile).string();
  auto j = ReadJson(config_path);
  if (!j.ok()) return j.status();
  if (!j->is_object() || j->value("format", "") != kFormat)
    return absl::InvalidArgumentError(absl::StrCat(
        config_path, ": not a TRM Serve checkpoint (\"format\" must be \"", kFormat, "\")"));
  if (j->value("version", 0) != kFormatVersion)
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, ": unsupported version ", j->value("version", 0)));
  CheckpointInfo info;
  if (!j->contains("arch"))
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": missing \"arch\""));
  auto config = TrmConfig::FromJson((*j)["arch"]);
  if (!config.ok())
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": ", config.status().message()));
  info.config = *config;
  try {
    info.name = j->value("name", dir.filename().string());
    info.task = j->value("task", InferTask(info.config));
    if (j->contains("puzzle_identifiers"))
      info.puzzle_identifiers = (*j)["puzzle_identifiers"].get<std::vector<std::string>>();
    info.provenance = j->value("provenance", nlohmann::json::object());
    const nlohmann::json serving = j->value("serving", nlohmann::json::object());
    if (serving.contains("halt_threshold")) {
      info.halt_threshold = serving["halt_threshold"].get<float>();
      if (!(info.halt_threshold > 0 && info.halt_threshold <= 1)) {
        return absl::InvalidArgumentError(absl::StrCat(config_path, ": serving.halt_threshold ",
                                                       info.halt_threshold, " is outside (0, 1]"));
      }
    }
    if (serving.contains("dihedral_views")) {
      info.dihedral_views = serving["dihedral_views"].get<int>();
      if (info.dihedral_views < 1 || info.dihedral_views > 8) {
        return absl::InvalidArgumentError(absl::StrCat(config_path, ": serving.dihedral_views ",
                                                       info.dihedral_views, " is outside 1..8"));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": ", e.what()));
  }
  if (!info.task.is_object() || !info.task.contains("kind"))
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": \"task\" needs a \"kind\""));
  const std::string weights_path = (dir / kWeightsFile).string();
  auto bytes = ReadFile(weights_path);
  if (!bytes.ok()) return bytes.status();
  auto state = ParseStateDict(*bytes, weights_path);
  if (!state.ok()) return state.status();
  info.source_path = dir.string();
  info.version = ContentHash(*bytes);
  return BuildAndLoad(std::move(info), StripOfficialPrefix(*state), weights_path, options.device);
}

// The official run's configuration: the explicit JSON, NAME.config.json beside NAME.pt, or the
// run's all_config.yaml beside the checkpoint (plus its dataset's dataset.json).
absl::StatusOr<nlohmann::json> FindOfficialConfig(const fs::path& file, const LoadOptions& opts,
                                                  fs::path* dataset_dir) {
  if (!opts.config_json.empty()) return ReadJson(opts.config_json);
  fs::path sibling = file;
  sibling.replace_extension(".config.json");
  if (fs::exists(sibling)) return ReadJson(sibling.string());
  const fs::path yaml_path = file.parent_path() / "all_config.yaml";
  if (!fs::exists(yaml_path))
    return absl::NotFoundError(absl::StrCat(
        "checkpoint ", file.string(), ": no configuration found (looked for an explicit config, ",
        sibling.string(), " and ", yaml_path.string(), ")"));
  nlohmann::json all;
  try {
    all = YamlToJson(YAML::LoadFile(yaml_path.string()));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(yaml_path.string(), ": ", e.what()));
  }
  if (!all.contains("arch") || !all["arch"].is_object())
    return absl::InvalidArgumentError(absl::StrCat(yaml_path.string(), ": missing \"arch\""));
  nlohmann::json arch = all["arch"];
  // The dataset fixes seq_len, vocab_size and num_puzzle_identifiers.
  std::vector<fs::path> candidates = {file.parent_path()};
  if (all.contains("data_paths") && all["data_paths"].is_array())
    for (const auto& p : all["data_paths"])
      if (p.is_string()) candidates.push_back(p.get<std::string>());
  for (const auto& dir : candidates) {
    for (const char* split : {"", "train", "test"}) {
      const fs::path meta = dir / split / "dataset.json";
      if (!fs::exists(meta)) continue;
      auto m = ReadJson(meta.string());
      if (!m.ok()) return m.status();
      for (const char* k : {"seq_len", "vocab_size", "num_puzzle_identifiers"})
        if (m->contains(k)) arch[k] = (*m)[k];
      *dataset_dir = dir;
      return arch;
    }
  }
  return arch;
}

absl::StatusOr<LoadedCheckpoint> LoadOfficial(const fs::path& file, const LoadOptions& options) {
  auto bytes = ReadFile(file.string());
  if (!bytes.ok()) return bytes.status();
  auto raw = ParseStateDict(*bytes, file.string());
  if (!raw.ok()) return raw.status();
  const StateDict state = StripOfficialPrefix(*raw);
  fs::path dataset_dir;
  auto arch = FindOfficialConfig(file, options, &dataset_dir);
  if (!arch.ok()) return arch.status();
  // Fields of the parity/reference JSON that describe the file rather than the network.
  for (const char* k : {"state_dict_prefix", "steps_recorded", "keys"}) arch->erase(k);
  // Shapes fix what they can; the configuration supplies the rest (cycles, heads, ...).
  TrmConfig probe;
  std::set<std::string> inferred;
  InferFromShapes(state, probe, inferred);
  nlohmann::json merged = *arch;
  const nlohmann::json from_shapes = probe.ToJson();
  for (const auto& key : inferred) {
    if (key == "puzzle_emb_ndim") {
      merged["num_puzzle_identifiers"] = from_shapes["num_puzzle_identifiers"];
    }
    if (!merged.contains(key)) merged[key] = from_shapes[key];
  }
  auto config = TrmConfig::FromJson(merged);
  if (!config.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint ", file.string(), ": ", config.status().message()));
  CheckpointInfo info;
  info.config = *config;
  info.name = file.stem().string();
  info.task = InferTask(info.config);
  info.source_path = file.string();
  info.version = ContentHash(*bytes);
  info.provenance = {{"source", "official"}, {"file", file.string()}};
  for (const fs::path& dir : {file.parent_path(), dataset_dir}) {
    if (dir.empty()) continue;
    const fs::path ids = dir / "identifiers.json";
    if (!fs::exists(ids)) continue;
    auto j = ReadJson(ids.string());
    if (j.ok() && j->is_array()) {
      for (const auto& name : *j)
        info.puzzle_identifiers.push_back(name.is_string() ? name.get<std::string>() : "");
      break;
    }
  }
  return BuildAndLoad(std::move(info), state, file.string(), options.device);
}

}  // namespace

absl::StatusOr<StateDict> ReadStateDict(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseStateDict(*bytes, path);
}

absl::Status WriteStateDict(const StateDict& state, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [key, value] : state) dict.insert(key, value.detach().cpu().contiguous());
  std::vector<char> bytes;
  try {
    bytes = torch::pickle_save(c10::IValue(dict));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(path, ": cannot serialise: ", FirstLine(e.what())));
  }
  // Write to a temporary file and rename, so a reader never sees half a checkpoint.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat(tmp, ": cannot open for writing"));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return absl::DataLossError(absl::StrCat(tmp, ": write failed"));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat(path, ": rename failed: ", ec.message()));
  return absl::OkStatus();
}

StateDict StripOfficialPrefix(const StateDict& state) {
  StateDict out;
  for (const auto& [key, value] : state) {
    absl::string_view k = key;
    if (!absl::ConsumePrefix(&k, "_orig_mod.model.")) absl::ConsumePrefix(&k, "model.");
    out[std::string(k)] = value;
  }
  return out;
}

StateDict StateDictOf(const TrmNet& net) {
  StateDict out;
  for (const auto& p : net->named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  for (const auto& b : net->named_buffers(/*recurse=*/true)) out[b.key()] = b.value();
  return out;
}

absl::Status LoadStateDictInto(TrmNet& net, const StateDict& state, const std::string& origin) {
  StateDict expected = StateDictOf(net);
  std::vector<std::string> extra;
  for (const auto& [key, value] : state)
    if (!expected.count(key)) extra.push_back(key);
  if (!extra.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint ", origin, ": unexpected key ", extra.front(),
                     extra.size() > 1 ? absl::StrCat(" (and ", extra.size() - 1, " more)") : ""));
  for (const auto& [key, target] : expected) {
    auto it = state.find(key);
    if (it == state.end())
      return absl::InvalidArgumentError(absl::StrCat("checkpoint ", origin, ": missing key ", key,
                                                     " (shape ", ShapeString(target.sizes()), ")"));
    const torch::Tensor& value = it->second;
    if (value.sizes() != target.sizes())
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", origin, ": key ", key, " has shape ",
                       ShapeString(value.sizes()), ", config says ", ShapeString(target.sizes())));
    if (!value.is_floating_point())
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", origin, ": key ", key, " has dtype ",
                       c10::toString(value.scalar_type()), ", expected a floating-point tensor"));
    torch::NoGradGuard no_grad;
    const_cast<torch::Tensor&>(target).copy_(value.to(target.scalar_type()));
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadedCheckpoint> LoadCheckpoint(const std::string& path,
                                                const LoadOptions& options) {
  std::error_code ec;
  const fs::path p(path);
  if (!fs::exists(p, ec))
    return absl::NotFoundError(absl::StrCat("checkpoint ", path, ": no such file or directory"));
  try {
    if (fs::is_directory(p)) {
      if (fs::exists(p / kConfigFile)) return LoadOwn(p, options);
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", path, ": directory has no ", kConfigFile,
                       " (for an official checkpoint give the weights file, e.g. .../step_1000)"));
    }
    return LoadOfficial(p, options);
  } catch (const std::exception& e) {
    // Nothing from libtorch or the file system may escape as an exception.
    return absl::InternalError(absl::StrCat("checkpoint ", path, ": ", FirstLine(e.what())));
  }
}

absl::Status SaveCheckpoint(const TrmNet& net, const CheckpointInfo& info, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat(dir, ": cannot create: ", ec.message()));
  if (absl::Status s = WriteStateDict(StateDictOf(net), (fs::path(dir) / kWeightsFile).string());
      !s.ok())
    return s;
  nlohmann::json j = {
      {"format", kFormat},
      {"version", kFormatVersion},
      {"name", info.name.empty() ? fs::path(dir).filename().string() : info.name},
      {"arch", net->config().ToJson()},
      {"task", info.task.is_null() ? InferTask(net->config()) : info.task},
      {"puzzle_identifiers", info.puzzle_identifiers},
      {"provenance", info.provenance.is_null() ? nlohmann::json::object() : info.provenance}};
  if (info.halt_threshold > 0) j["serving"]["halt_threshold"] = info.halt_threshold;
  if (info.dihedral_views > 0) j["serving"]["dihedral_views"] = info.dihedral_views;
  const std::string path = (fs::path(dir) / kConfigFile).string();
  std::ofstream out(path + ".tmp");
  out << j.dump(2) << "\n";
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat(path, ": write failed"));
  fs::rename(path + ".tmp", path, ec);
  if (ec) return absl::InternalError(absl::StrCat(path, ": rename failed: ", ec.message()));
  return absl::OkStatus();
}

}  // namespace trm::model
