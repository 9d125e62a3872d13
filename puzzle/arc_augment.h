// ARC augmentations as the official builder: a colour permutation that keeps 0 (black) fixed,
// then one of the 8 dihedral transforms (`dihedral_transform(mapping[grid], trans_id)`), named
// `task|||t<k>|||<mapping as 10 digits>` so a checkpoint's identifiers.json maps them to puzzle
// ids. Every augmentation has an exact inverse.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "puzzle/arc.h"
#include "puzzle/expected.h"

namespace trm::puzzle {

inline constexpr std::string_view kPuzzleIdSeparator = "|||";

struct ArcAugmentation {
  int dihedral = 0;                                                  // 0..7, see puzzle/dihedral.h.
  std::array<uint8_t, 10> colours = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};  // colours[c]: new colour.

  bool is_identity() const;
  // mapping then transform.
  ArcGrid Apply(const ArcGrid& grid) const;
  // Exact inverse of Apply: inverse transform, then inverse mapping.
  ArcGrid Invert(const ArcGrid& grid) const;
  // `task|||t<k>|||0213...`; the identity gives the bare task id (the official builder names
  // the unaugmented copy by its task id alone).
  std::string Name(std::string_view task_id) const;
  friend bool operator==(const ArcAugmentation&, const ArcAugmentation&) = default;
};

// Checks dihedral range and that colours is a permutation of 0-9 with 0 fixed.
Expected<void> ValidateArcAugmentation(const ArcAugmentation& aug);

struct ParsedArcName {
  std::string task_id;
  ArcAugmentation augmentation;  // Identity for a bare task id.
};
// Parses `task|||t<k>|||<10 digits>` or a bare task id. Errors: `arc name "x|||t9|||0123456789":
// transform 9 is outside 0..7`, `... colour mapping must be a permutation of 0-9 with 0 first`.
Expected<ParsedArcName> ParseArcName(std::string_view name);

// Every identifier of one task in a checkpoint's identifiers.json (`names[i]` is identifier i):
// the bare task id and each `task|||t<k>|||<perm>`, in identifier order, with its augmentation.
// This is how a server runs one ARC test input under all the augmentations the model was trained
// with and votes over them. Names that do not parse are skipped.
struct ArcAugmentedId {
  int32_t identifier = 0;
  ArcAugmentation augmentation;
};
std::vector<ArcAugmentedId> ArcIdentifiersForTask(const std::vector<std::string>& names,
                                                  std::string_view task_id);

// A uniformly random augmentation, as the official aug(): trans_id in 0..7, colours 1-9 permuted.
ArcAugmentation RandomArcAugmentation(std::mt19937_64& rng);

}  // namespace trm::puzzle
