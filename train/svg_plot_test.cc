#include "train/svg_plot.h"

#include <gtest/gtest.h>

namespace trm::train {
namespace {

TEST(Svg, DrawsEverySeriesWithItsLegend) {
  Panel p{"Loss <train>", "step", "loss", {{"a&b", {0, 1, 2}, {3, 2, 1}}, {"b", {0, 1}, {1, NAN}}}};
  const std::string svg = RenderSvg({p, p});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t lines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1))
    ++lines;
  EXPECT_EQ(lines, 4u);
  EXPECT_NE(svg.find("Loss &lt;train&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a&amp;b"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

}  // namespace
}  // namespace trm::train
