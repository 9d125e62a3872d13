#include "puzzle/arc_vote.h"

#include <algorithm>
#include <map>

namespace trm::puzzle {

std::vector<ArcCandidate> VoteArcPredictions(std::span<const ArcPrediction> predictions,
                                             int top_k) {
  struct Group {
    ArcGrid grid;
    int votes = 0;
    double confidence_sum = 0;
  };
  std::vector<Group> groups;  // First-seen order, like the evaluator's dict.
  std::map<std::pair<std::pair<int, int>, std::vector<uint8_t>>, size_t> index;
  for (const ArcPrediction& p : predictions) {
    ArcGrid grid = p.augmentation.Invert(p.grid);
    auto key = std::make_pair(std::make_pair(grid.rows, grid.cols), grid.cells);
    auto [it, inserted] = index.emplace(std::move(key), groups.size());
    if (inserted) groups.push_back(Group{std::move(grid)});
    Group& g = groups[it->second];
    ++g.votes;
    g.confidence_sum += p.confidence;
  }
  std::vector<ArcCandidate> ranked;
  ranked.reserve(groups.size());
  std::vector<double> means;
  for (Group& g : groups) {
    means.push_back(g.confidence_sum / g.votes);
    ranked.push_back(ArcCandidate{std::move(g.grid), g.votes, static_cast<float>(means.back())});
  }
  std::vector<size_t> order(ranked.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // sorted(..., key=[votes, mean], reverse=True) is stable: ties keep first-seen order.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (ranked[a].votes != ranked[b].votes) return ranked[a].votes > ranked[b].votes;
    return means[a] > means[b];
  });
  std::vector<ArcCandidate> out;
  size_t limit = top_k > 0 ? std::min<size_t>(top_k, order.size()) : order.size();
  for (size_t i = 0; i < limit; ++i) out.push_back(std::move(ranked[order[i]]));
  return out;
}

Expected<ArcPrediction> ArcPredictionFromTokens(const ArcAugmentation& augmentation,
                                                std::span<const int32_t> tokens, float confidence) {
  auto grid = ArcGridFromTokens(tokens);
  if (!grid.ok()) return grid.error();
  return ArcPrediction{augmentation, std::move(grid).value(), confidence};
}

bool ArcPassAtK(std::span<const ArcCandidate> ranked, const ArcGrid& truth, int k) {
  for (size_t i = 0; i < ranked.size() && static_cast<int>(i) < k; ++i) {
    if (ranked[i].grid == truth) return true;
  }
  return false;
}

double ArcTaskScore(std::span<const std::vector<ArcCandidate>> ranked_per_test,
                    std::span<const ArcGrid> truths, int k) {
  if (truths.empty()) return 0;
  int passed = 0;
  for (size_t i = 0; i < truths.size() && i < ranked_per_test.size(); ++i) {
    passed += ArcPassAtK(ranked_per_test[i], truths[i], k);
  }
  return static_cast<double>(passed) / truths.size();
}

}  // namespace trm::puzzle
