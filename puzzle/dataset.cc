#include "puzzle/dataset.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "puzzle/npy.h"
#include "puzzle/puzzle_file.h"

namespace trm::puzzle {
namespace {

using json = nlohmann::json;

Expected<void> CheckIndices(const std::vector<int32_t>& idx, const char* name, int64_t total) {
  if (idx.empty() || idx[0] != 0)
    return Error{std::string("dataset: ") + name + " must start at 0"};
  for (size_t i = 1; i < idx.size(); ++i) {
    if (idx[i] < idx[i - 1]) {
      return Error{std::string("dataset: ") + name + " decreases at index " + std::to_string(i)};
    }
  }
  if (idx.back() != total) {
    return Error{std::string("dataset: ") + name + " ends at " + std::to_string(idx.back()) +
                 ", expected " + std::to_string(total)};
  }
  return Ok();
}

std::vector<int32_t> ToInt32(const std::vector<int64_t>& v) {
  return std::vector<int32_t>(v.begin(), v.end());
}

}  // namespace

void DatasetSet::AddExample(std::span<const int32_t> input, std::span<const int32_t> label) {
  inputs.insert(inputs.end(), input.begin(), input.end());
  labels.insert(labels.end(), label.begin(), label.end());
}

void DatasetSet::EndPuzzle(int32_t identifier) {
  puzzle_indices.push_back(static_cast<int32_t>(num_examples()));
  puzzle_identifiers.push_back(identifier);
}

void DatasetSet::EndGroup() { group_indices.push_back(static_cast<int32_t>(num_puzzles())); }

Expected<void> DatasetSet::Validate(int vocab_size) const {
  if (seq_len <= 0)
    return Error{"dataset: seq_len " + std::to_string(seq_len) + " is not positive"};
  if (inputs.size() != labels.size()) {
    return Error{"dataset: " + std::to_string(inputs.size()) + " input tokens but " +
                 std::to_string(labels.size()) + " label tokens"};
  }
  if (inputs.size() % seq_len != 0) {
    return Error{"dataset: " + std::to_string(inputs.size()) +
                 " input tokens are not a multiple of seq_len " + std::to_string(seq_len)};
  }
  if (puzzle_indices.size() != puzzle_identifiers.size() + 1) {
    return Error{"dataset: " + std::to_string(puzzle_indices.size()) + " puzzle_indices for " +
                 std::to_string(puzzle_identifiers.size()) + " puzzles (expected one more)"};
  }
  if (auto ok = CheckIndices(puzzle_indices, "puzzle_indices", num_examples()); !ok.ok()) return ok;
  if (auto ok = CheckIndices(group_indices, "group_indices", num_puzzles()); !ok.ok()) return ok;
  if (vocab_size > 0) {
    for (const auto* tokens : {&inputs, &labels}) {
      for (size_t i = 0; i < tokens->size(); ++i) {
        int32_t t = (*tokens)[i];
        if (t < 0 || t >= vocab_size) {
          return Error{std::string("dataset: ") + (tokens == &inputs ? "inputs" : "labels") +
                       " token " + std::to_string(t) + " at example " +
                       std::to_string(i / seq_len) + " position " + std::to_string(i % seq_len) +
                       " is outside 0.." + std::to_string(vocab_size - 1)};
        }
      }
    }
  }
  return Ok();
}

void FillDatasetStatistics(const DatasetSet& set, DatasetMetadata& metadata) {
  metadata.seq_len = set.seq_len;
  metadata.total_groups = static_cast<int>(set.num_groups());
  metadata.total_puzzles = static_cast<int>(set.num_puzzles());
  metadata.mean_puzzle_examples =
      set.num_puzzles() ? static_cast<double>(set.num_examples()) / set.num_puzzles() : 0.0;
}

std::string DatasetMetadataToJson(const DatasetMetadata& m) {
  // Field order as the official PuzzleDatasetMetadata.model_dump().
  json j = json::object();
  j["pad_id"] = m.pad_id;
  j["ignore_label_id"] = m.ignore_label_id ? json(*m.ignore_label_id) : json(nullptr);
  j["blank_identifier_id"] = m.blank_identifier_id;
  j["vocab_size"] = m.vocab_size;
  j["seq_len"] = m.seq_len;
  j["num_puzzle_identifiers"] = m.num_puzzle_identifiers;
  j["total_groups"] = m.total_groups;
  j["mean_puzzle_examples"] = m.mean_puzzle_examples;
  j["total_puzzles"] = m.total_puzzles;
  j["sets"] = m.sets;
  return j.dump();
}

Expected<DatasetMetadata> ParseDatasetMetadata(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error{"dataset.json: not a JSON object"};
  DatasetMetadata m;
  auto get_int = [&](const char* key, int& out) -> Expected<void> {
    if (!j.contains(key)) return Error{std::string("dataset.json: no \"") + key + "\""};
    if (!j[key].is_number_integer()) {
      return Error{std::string("dataset.json: \"") + key + "\" is not an integer"};
    }
    out = j[key].get<int>();
    return Ok();
  };
  for (auto [key, field] :
       {std::pair{"pad_id", &m.pad_id}, std::pair{"blank_identifier_id", &m.blank_identifier_id},
        std::pair{"vocab_size", &m.vocab_size}, std::pair{"seq_len", &m.seq_len},
        std::pair{"num_puzzle_identifiers", &m.num_puzzle_identifiers},
        std::pair{"total_groups", &m.total_groups}, std::pair{"total_puzzles", &m.total_puzzles}}) {
    if (auto ok = get_int(key, *field); !ok.ok()) return ok.error();
  }
  if (!j.contains("ignore_label_id") || j["ignore_label_id"].is_null()) {
    m.ignore_label_id.reset();
  } else if (j["ignore_label_id"].is_number_integer()) {
    m.ignore_label_id = j["ignore_label_id"].get<int>();
  } else {
    return Error{"dataset.json: \"ignore_label_id\" is not an integer or null"};
  }
  if (!j.contains("mean_puzzle_examples") || !j["mean_puzzle_examples"].is_number()) {
    return Error{"dataset.json: no numeric \"mean_puzzle_examples\""};
  }
  m.mean_puzzle_examples = j["mean_puzzle_examples"].get<double>();
  if (!j.contains("sets") || !j["sets"].is_array()) {
    return Error{"dataset.json: no \"sets\" list"};
  }
  m.sets.clear();
  for (const auto& s : j["sets"]) {
    if (!s.is_string()) return Error{"dataset.json: \"sets\" holds a non-string"};
    m.sets.push_back(s.get<std::string>());
  }
  return m;
}

Expected<void> WriteDatasetSplit(const std::string& dir, const std::string& split,
                                 const DatasetSplit& data) {
  const DatasetSet& set = data.set;
  if (set.seq_len != data.metadata.seq_len) {
    return Error{"dataset: set seq_len " + std::to_string(set.seq_len) + " differs from metadata " +
                 std::to_string(data.metadata.seq_len)};
  }
  if (auto ok = set.Validate(data.metadata.vocab_size); !ok.ok()) return ok;
  std::filesystem::path root = std::filesystem::path(dir) / split;
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Error{"dataset: cannot create " + root.string() + ": " + ec.message()};
  const std::string prefix = (root / "all__").string();
  const NpyDtype token_dtype =
      data.metadata.vocab_size <= 256 ? NpyDtype::kUInt8 : NpyDtype::kInt32;
  const int64_t n = set.num_examples();
  if (auto ok = WriteNpy(prefix + "inputs.npy", token_dtype, {n, set.seq_len}, set.inputs);
      !ok.ok())
    return ok;
  if (auto ok = WriteNpy(prefix + "labels.npy", token_dtype, {n, set.seq_len}, set.labels);
      !ok.ok())
    return ok;
  if (auto ok = WriteNpy(prefix + "puzzle_identifiers.npy", NpyDtype::kInt32, {set.num_puzzles()},
                         set.puzzle_identifiers);
      !ok.ok())
    return ok;
  if (auto ok = WriteNpy(prefix + "puzzle_indices.npy", NpyDtype::kInt32,
                         {int64_t(set.puzzle_indices.size())}, set.puzzle_indices);
      !ok.ok())
    return ok;
  if (auto ok = WriteNpy(prefix + "group_indices.npy", NpyDtype::kInt32,
                         {int64_t(set.group_indices.size())}, set.group_indices);
      !ok.ok())
    return ok;
  return WriteTextFile((root / "dataset.json").string(), DatasetMetadataToJson(data.metadata));
}

Expected<DatasetSplit> ReadDatasetSplit(const std::string& dir, const std::string& split,
                                        const std::string& set_name) {
  std::filesystem::path root = std::filesystem::path(dir) / split;
  auto meta_text = ReadTextFile((root / "dataset.json").string());
  if (!meta_text.ok()) return Error{"dataset: " + meta_text.error().message};
  auto metadata = ParseDatasetMetadata(*meta_text);
  if (!metadata.ok())
    return Error{(root / "dataset.json").string() + ": " + metadata.error().message};
  DatasetSplit out;
  out.metadata = std::move(metadata).value();
  const std::string prefix = (root / (set_name + "__")).string();
  auto read = [&](const char* field, size_t rank) -> Expected<NpyArray> {
    auto a = ReadNpy(prefix + field + ".npy");
    if (!a.ok()) return a;
    if (a->shape.size() != rank) {
      return Error{prefix + field + ".npy: expected " + std::to_string(rank) + " dimensions, got " +
                   std::to_string(a->shape.size())};
    }
    return a;
  };
  auto inputs = read("inputs", 2);
  if (!inputs.ok()) return inputs.error();
  auto labels = read("labels", 2);
  if (!labels.ok()) return labels.error();
  auto ids = read("puzzle_identifiers", 1);
  if (!ids.ok()) return ids.error();
  auto pidx = read("puzzle_indices", 1);
  if (!pidx.ok()) return pidx.error();
  auto gidx = read("group_indices", 1);
  if (!gidx.ok()) return gidx.error();
  if (inputs->shape[1] != out.metadata.seq_len || labels->shape != inputs->shape) {
    return Error{prefix + "inputs.npy/labels.npy: shapes do not match seq_len " +
                 std::to_string(out.metadata.seq_len)};
  }
  DatasetSet& s = out.set;
  s.seq_len = out.metadata.seq_len;
  s.inputs = ToInt32(inputs->values);
  s.labels = ToInt32(labels->values);
  s.puzzle_identifiers = ToInt32(ids->values);
  s.puzzle_indices = ToInt32(pidx->values);
  s.group_indices = ToInt32(gidx->values);
  if (auto ok = s.Validate(out.metadata.vocab_size); !ok.ok()) {
    return Error{root.string() + ": " + ok.error().message};
  }
  return out;
}

namespace {
constexpr size_t kStreamHeaderSize = 128;  // Room for any 2-d shape; a multiple of 64.
}  // namespace

Expected<std::unique_ptr<DatasetSplitWriter>> DatasetSplitWriter::Open(const std::string& dir,
                                                                       const std::string& split,
                                                                       int seq_len,
                                                                       int vocab_size) {
  if (seq_len <= 0)
    return Error{"dataset: seq_len " + std::to_string(seq_len) + " is not positive"};
  if (vocab_size <= 0 || vocab_size > 256) {
    return Error{"dataset: vocab_size " + std::to_string(vocab_size) +
                 " is outside 1..256 (tokens are stored as uint8)"};
  }
  std::unique_ptr<DatasetSplitWriter> w(new DatasetSplitWriter());
  std::filesystem::path root = std::filesystem::path(dir) / split;
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Error{"dataset: cannot create " + root.string() + ": " + ec.message()};
  w->root_ = root.string();
  w->seq_len_ = seq_len;
  w->vocab_size_ = vocab_size;
  auto header = EncodeNpyHeader(NpyDtype::kUInt8, {0, seq_len}, kStreamHeaderSize);
  if (!header.ok()) return header.error();
  for (auto [stream, name] :
       {std::pair{&w->inputs_, "all__inputs.npy"}, std::pair{&w->labels_, "all__labels.npy"}}) {
    std::string path = (root / name).string();
    stream->open(path, std::ios::binary | std::ios::trunc);
    if (!*stream) return Error{"dataset: cannot write " + path + ": " + std::strerror(errno)};
    stream->write(header->data(), static_cast<std::streamsize>(header->size()));
  }
  w->buffer_.resize(seq_len);
  return w;
}

DatasetSplitWriter::~DatasetSplitWriter() = default;

Expected<void> DatasetSplitWriter::AddExample(std::span<const int32_t> input,
                                              std::span<const int32_t> label) {
  if (static_cast<int>(input.size()) != seq_len_ || static_cast<int>(label.size()) != seq_len_) {
    return Error{"dataset: example " + std::to_string(num_examples_) + " has " +
                 std::to_string(input.size()) + "/" + std::to_string(label.size()) +
                 " tokens, seq_len is " + std::to_string(seq_len_)};
  }
  // Check both rows before writing either, so a rejected example leaves the files consistent.
  for (auto tokens : {input, label}) {
    for (int i = 0; i < seq_len_; ++i) {
      if (tokens[i] < 0 || tokens[i] >= vocab_size_) {
        return Error{"dataset: token " + std::to_string(tokens[i]) + " at example " +
                     std::to_string(num_examples_) + " position " + std::to_string(i) +
                     " is outside 0.." + std::to_string(vocab_size_ - 1)};
      }
    }
  }
  for (auto [tokens, stream] : {std::pair{input, &inputs_}, std::pair{label, &labels_}}) {
    for (int i = 0; i < seq_len_; ++i) buffer_[i] = static_cast<char>(tokens[i]);
    stream->write(buffer_.data(), seq_len_);
  }
  ++num_examples_;
  return Ok();
}

void DatasetSplitWriter::EndPuzzle(int32_t identifier) {
  puzzle_indices_.push_back(static_cast<int32_t>(num_examples_));
  puzzle_identifiers_.push_back(identifier);
}

void DatasetSplitWriter::EndGroup() {
  group_indices_.push_back(static_cast<int32_t>(puzzle_identifiers_.size()));
}

Expected<void> DatasetSplitWriter::Finish(DatasetMetadata metadata) {
  auto header = EncodeNpyHeader(NpyDtype::kUInt8, {num_examples_, seq_len_}, kStreamHeaderSize);
  if (!header.ok()) return header.error();
  for (auto [stream, name] :
       {std::pair{&inputs_, "all__inputs.npy"}, std::pair{&labels_, "all__labels.npy"}}) {
    stream->seekp(0);
    stream->write(header->data(), static_cast<std::streamsize>(header->size()));
    stream->close();
    if (!*stream) {
      return Error{"dataset: cannot write " + root_ + "/" + name + ": " + std::strerror(errno)};
    }
  }
  if (puzzle_indices_.back() != num_examples_ || group_indices_.back() != num_puzzles()) {
    return Error{"dataset: " + root_ + " finished inside a puzzle or group"};
  }
  const std::string prefix = root_ + "/all__";
  if (auto ok = WriteNpy(prefix + "puzzle_identifiers.npy", NpyDtype::kInt32, {num_puzzles()},
                         puzzle_identifiers_);
      !ok.ok())
    return ok;
  if (auto ok = WriteNpy(prefix + "puzzle_indices.npy", NpyDtype::kInt32,
                         {int64_t(puzzle_indices_.size())}, puzzle_indices_);
      !ok.ok())
    return ok;
  if (auto ok = WriteNpy(prefix + "group_indices.npy", NpyDtype::kInt32,
                         {int64_t(group_indices_.size())}, group_indices_);
      !ok.ok())
    return ok;
  metadata.seq_len = seq_len_;
  metadata.vocab_size = vocab_size_;
  metadata.total_groups = static_cast<int>(group_indices_.size()) - 1;
  metadata.total_puzzles = static_cast<int>(num_puzzles());
  metadata.mean_puzzle_examples =
      num_puzzles() ? static_cast<double>(num_examples_) / num_puzzles() : 0.0;
  return WriteTextFile(root_ + "/dataset.json", DatasetMetadataToJson(metadata));
}

struct DatasetSplitReader::Tokens {
  // Mapped uint8 data, or values read into memory for other dtypes.
  void* map = nullptr;
  size_t map_size = 0;
  const uint8_t* bytes = nullptr;
  std::vector<int32_t> loaded;

  ~Tokens() {
    if (map) munmap(map, map_size);
  }

  // Opens `path`; checks it is [rows, seq_len].
  static Expected<std::unique_ptr<Tokens>> Open(const std::string& path, int seq_len,
                                                int64_t& rows) {
    auto t = std::make_unique<Tokens>();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{"npy: cannot read " + path + ": " + std::strerror(errno)};
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
      ::close(fd);
      return Error{"npy: cannot read " + path + ": empty or unreadable"};
    }
    t->map_size = static_cast<size_t>(st.st_size);
    t->map = mmap(nullptr, t->map_size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (t->map == MAP_FAILED) {
      t->map = nullptr;
      return Error{"npy: cannot map " + path + ": " + std::strerror(errno)};
    }
    std::string_view bytes(static_cast<const char*>(t->map), t->map_size);
    auto header = DecodeNpyHeader(bytes);
    if (!header.ok()) return Error{path + ": " + header.error().message};
    if (header->shape.size() != 2 || header->shape[1] != seq_len) {
      return Error{path + ": shape does not match seq_len " + std::to_string(seq_len)};
    }
    rows = header->shape[0];
    if (header->dtype == NpyDtype::kUInt8) {
      if (t->map_size - header->data_offset != static_cast<size_t>(rows * seq_len)) {
        return Error{path + ": npy: data has " + std::to_string(t->map_size - header->data_offset) +
                     " bytes, expected " + std::to_string(rows * seq_len)};
      }
      t->bytes = static_cast<const uint8_t*>(t->map) + header->data_offset;
      return t;
    }
    auto array = DecodeNpy(bytes);  // Other dtypes: decoded into memory.
    if (!array.ok()) return Error{path + ": " + array.error().message};
    t->loaded = ToInt32(array->values);
    munmap(t->map, t->map_size);
    t->map = nullptr;
    return t;
  }

  void Row(int64_t i, int seq_len, std::span<int32_t> out) const {
    if (bytes) {
      const uint8_t* row = bytes + i * seq_len;
      for (int k = 0; k < seq_len; ++k) out[k] = row[k];
    } else {
      std::copy_n(loaded.begin() + i * seq_len, seq_len, out.begin());
    }
  }
};

Expected<std::unique_ptr<DatasetSplitReader>> DatasetSplitReader::Open(const std::string& dir,
                                                                       const std::string& split,
                                                                       const std::string& set) {
  std::filesystem::path root = std::filesystem::path(dir) / split;
  auto meta_text = ReadTextFile((root / "dataset.json").string());
  if (!meta_text.ok()) return Error{"dataset: " + meta_text.error().message};
  auto metadata = ParseDatasetMetadata(*meta_text);
  if (!metadata.ok()) {
    return Error{(root / "dataset.json").string() + ": " + metadata.error().message};
  }
  std::unique_ptr<DatasetSplitReader> r(new DatasetSplitReader());
  r->metadata_ = std::move(metadata).value();
  if (r->metadata_.seq_len <= 0) return Error{(root / "dataset.json").string() + ": bad seq_len"};
  const std::string prefix = (root / (set + "__")).string();
  int64_t input_rows = 0, label_rows = 0;
  auto inputs = Tokens::Open(prefix + "inputs.npy", r->metadata_.seq_len, input_rows);
  if (!inputs.ok()) return inputs.error();
  auto labels = Tokens::Open(prefix + "labels.npy", r->metadata_.seq_len, label_rows);
  if (!labels.ok()) return labels.error();
  if (input_rows != label_rows) {
    return Error{prefix + "inputs.npy/labels.npy: " + std::to_string(input_rows) + " and " +
                 std::to_string(label_rows) + " examples"};
  }
  r->inputs_ = std::move(inputs).value();
  r->labels_ = std::move(labels).value();
  r->num_examples_ = input_rows;
  for (auto [field, out] : {std::pair{"puzzle_identifiers", &r->puzzle_identifiers_},
                            std::pair{"puzzle_indices", &r->puzzle_indices_},
                            std::pair{"group_indices", &r->group_indices_}}) {
    auto a = ReadNpy(prefix + field + ".npy");
    if (!a.ok()) return a.error();
    if (a->shape.size() != 1) return Error{prefix + field + ".npy: expected 1 dimension"};
    *out = ToInt32(a->values);
  }
  if (r->puzzle_indices_.size() != r->puzzle_identifiers_.size() + 1) {
    return Error{root.string() + ": dataset: " + std::to_string(r->puzzle_indices_.size()) +
                 " puzzle_indices for " + std::to_string(r->puzzle_identifiers_.size()) +
                 " puzzles (expected one more)"};
  }
  if (auto ok = CheckIndices(r->puzzle_indices_, "puzzle_indices", r->num_examples_); !ok.ok()) {
    return Error{root.string() + ": " + ok.error().message};
  }
  if (auto ok =
          CheckIndices(r->group_indices_, "group_indices", int64_t(r->puzzle_identifiers_.size()));
      !ok.ok()) {
    return Error{root.string() + ": " + ok.error().message};
  }
  return r;
}

DatasetSplitReader::~DatasetSplitReader() = default;

void DatasetSplitReader::Input(int64_t i, std::span<int32_t> out) const {
  inputs_->Row(i, metadata_.seq_len, out);
}

void DatasetSplitReader::Label(int64_t i, std::span<int32_t> out) const {
  labels_->Row(i, metadata_.seq_len, out);
}

Expected<void> WriteIdentifiers(const std::string& dir, const std::vector<std::string>& names) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"dataset: cannot create " + dir + ": " + ec.message()};
  return WriteTextFile((std::filesystem::path(dir) / "identifiers.json").string(),
                       json(names).dump());
}

Expected<std::vector<std::string>> ReadIdentifiers(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / "identifiers.json").string();
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.error();
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) return Error{path + ": not a JSON list"};
  std::vector<std::string> names;
  for (const auto& v : j) {
    if (!v.is_string()) return Error{path + ": holds a non-string"};
    names.push_back(v.get<std::string>());
  }
  return names;
}

}  // namespace trm::puzzle
