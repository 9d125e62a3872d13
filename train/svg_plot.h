// Line charts as standalone SVG (no plotting library in the dependency list): the loss and
// accuracy curves at the end of a run, and the ablation's four loss curves.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace trm::train {

struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

struct Panel {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
};

// Panels side by side; each has its own axes fitted to its data, with a legend.
std::string RenderSvg(const std::vector<Panel>& panels, int panel_width = 560,
                      int panel_height = 380);
absl::Status WriteSvg(const std::string& path, const std::vector<Panel>& panels);

}  // namespace trm::train
