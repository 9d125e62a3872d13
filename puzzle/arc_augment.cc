#include "puzzle/arc_augment.h"

#include <algorithm>
#include <string>

#include "puzzle/dihedral.h"

namespace trm::puzzle {

bool ArcAugmentation::is_identity() const {
  for (int c = 0; c < 10; ++c) {
    if (colours[c] != c) return false;
  }
  return dihedral == 0;
}

ArcGrid ArcAugmentation::Apply(const ArcGrid& grid) const {
  std::vector<uint8_t> mapped(grid.cells.size());
  for (size_t i = 0; i < mapped.size(); ++i) mapped[i] = colours[grid.cells[i] % 10];
  auto [rows, cols] = DihedralShape(grid.rows, grid.cols, dihedral);
  return ArcGrid{rows, cols, DihedralTransform(mapped, grid.rows, grid.cols, dihedral)};
}

ArcGrid ArcAugmentation::Invert(const ArcGrid& grid) const {
  std::array<uint8_t, 10> inverse{};
  for (int c = 0; c < 10; ++c) inverse[colours[c] % 10] = static_cast<uint8_t>(c);
  const int k = DihedralInverse(dihedral & 7);
  auto [rows, cols] = DihedralShape(grid.rows, grid.cols, k);
  std::vector<uint8_t> cells = DihedralTransform(grid.cells, grid.rows, grid.cols, k);
  for (auto& c : cells) c = inverse[c % 10];
  return ArcGrid{rows, cols, std::move(cells)};
}

std::string ArcAugmentation::Name(std::string_view task_id) const {
  std::string name(task_id);
  if (is_identity()) return name;
  name += kPuzzleIdSeparator;
  name += "t" + std::to_string(dihedral);
  name += kPuzzleIdSeparator;
  for (uint8_t c : colours) name += static_cast<char>('0' + c);
  return name;
}

Expected<void> ValidateArcAugmentation(const ArcAugmentation& aug) {
  if (aug.dihedral < 0 || aug.dihedral > 7) {
    return Error{"arc augmentation: transform " + std::to_string(aug.dihedral) +
                 " is outside 0..7"};
  }
  std::array<bool, 10> seen{};
  for (uint8_t c : aug.colours) {
    if (c > 9 || seen[c]) {
      return Error{"arc augmentation: colour mapping must be a permutation of 0-9 with 0 first"};
    }
    seen[c] = true;
  }
  if (aug.colours[0] != 0) {
    return Error{"arc augmentation: colour mapping must be a permutation of 0-9 with 0 first"};
  }
  return Ok();
}

Expected<ParsedArcName> ParseArcName(std::string_view name) {
  ParsedArcName parsed;
  size_t first = name.find(kPuzzleIdSeparator);
  if (first == std::string_view::npos) {
    parsed.task_id = std::string(name);
    return parsed;
  }
  auto fail = [&](const std::string& why) {
    return Error{"arc name \"" + std::string(name) + "\": " + why};
  };
  // inverse_aug takes the last two fields and the first as the task.
  std::string_view rest = name.substr(first + kPuzzleIdSeparator.size());
  size_t second = rest.rfind(kPuzzleIdSeparator);
  if (second == std::string_view::npos) return fail("expected task|||t<k>|||<mapping>");
  std::string_view trans = rest.substr(0, second);
  size_t prev = trans.rfind(kPuzzleIdSeparator);
  if (prev != std::string_view::npos) trans = trans.substr(prev + kPuzzleIdSeparator.size());
  std::string_view perm = rest.substr(second + kPuzzleIdSeparator.size());
  parsed.task_id = std::string(name.substr(0, first));
  if (trans.size() != 2 || trans[0] != 't' || trans[1] < '0' || trans[1] > '9') {
    return fail("transform \"" + std::string(trans) + "\" is not t0..t7");
  }
  parsed.augmentation.dihedral = trans[1] - '0';
  if (parsed.augmentation.dihedral > 7) {
    return fail("transform " + std::to_string(parsed.augmentation.dihedral) + " is outside 0..7");
  }
  if (perm.size() != 10) return fail("colour mapping must be a permutation of 0-9 with 0 first");
  for (int c = 0; c < 10; ++c) {
    if (perm[c] < '0' || perm[c] > '9') {
      return fail("colour mapping must be a permutation of 0-9 with 0 first");
    }
    parsed.augmentation.colours[c] = static_cast<uint8_t>(perm[c] - '0');
  }
  if (auto ok = ValidateArcAugmentation(parsed.augmentation); !ok.ok()) {
    return fail("colour mapping must be a permutation of 0-9 with 0 first");
  }
  return parsed;
}

std::vector<ArcAugmentedId> ArcIdentifiersForTask(const std::vector<std::string>& names,
                                                  std::string_view task_id) {
  std::vector<ArcAugmentedId> ids;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    // Cheap prefix check first: identifiers.json has ~800k names for the official ARC build.
    if (name.compare(0, task_id.size(), task_id) != 0) continue;
    if (name.size() != task_id.size() &&
        name.compare(task_id.size(), kPuzzleIdSeparator.size(), kPuzzleIdSeparator) != 0) {
      continue;
    }
    auto parsed = ParseArcName(name);
    if (!parsed.ok() || parsed->task_id != task_id) continue;
    ids.push_back({static_cast<int32_t>(i), parsed->augmentation});
  }
  return ids;
}

ArcAugmentation RandomArcAugmentation(std::mt19937_64& rng) {
  ArcAugmentation aug;
  aug.dihedral = std::uniform_int_distribution<int>(0, 7)(rng);
  std::shuffle(aug.colours.begin() + 1, aug.colours.end(), rng);
  return aug;
}

}  // namespace trm::puzzle
