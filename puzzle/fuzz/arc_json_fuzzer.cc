// libFuzzer target: ARC JSON (tasks and single grids), then tokens and augmentation round trips.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "puzzle/arc.h"
#include "puzzle/arc_augment.h"
#include "puzzle/arc_json.h"

using namespace trm::puzzle;

namespace {

void CheckGrid(const ArcGrid& grid, const uint8_t* data, size_t size) {
  if (!ValidateArcGrid(grid).ok()) abort();
  auto back = ArcGridFromTokens(ArcGridToTokens(grid));
  if (!back.ok() || *back != grid) abort();
  ArcAugmentation aug;
  aug.dihedral = size ? data[0] % 8 : 0;
  for (size_t i = 1; i < 10 && i < size; ++i) {
    size_t j = 1 + data[i] % 9;
    std::swap(aug.colours[i], aug.colours[j]);
  }
  if (!ValidateArcAugmentation(aug).ok()) abort();
  auto parsed = ParseArcName(aug.Name("task"));
  if (!parsed.ok() || parsed->augmentation != aug) abort();
  if (aug.Invert(aug.Apply(grid)) != grid) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto grid = ParseArcGridJson(text); grid.ok()) CheckGrid(*grid, data, size);
  auto tasks = ParseArcTasks(text);
  if (!tasks.ok()) {
    if (tasks.error().message.empty()) abort();
    return 0;
  }
  for (const ArcTask& task : *tasks) {
    for (const auto* examples : {&task.train, &task.test}) {
      for (const auto& e : *examples) {
        CheckGrid(e.input, data, size);
        if (e.output) CheckGrid(*e.output, data, size);
      }
    }
  }
  // The id-name parser on the raw bytes too.
  (void)ParseArcName(text);
  return 0;
}
