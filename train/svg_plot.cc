#include "train/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trm::train {
namespace {

const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

std::string Tick(double v) {
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) return absl::StrFormat("%.1e", v);
  return absl::StrFormat("%.4g", v);
}

}  // namespace

std::string RenderSvg(const std::vector<Panel>& panels, int pw, int ph) {
  const int width = pw * std::max<int>(1, panels.size());
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n",
      width, ph);
  for (size_t p = 0; p < panels.size(); ++p) {
    const Panel& panel = panels[p];
    const double ox = p * pw + 60, oy = 30, w = pw - 80, h = ph - 80;
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
    for (const auto& s : panel.series) {
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
        x0 = std::min(x0, s.x[i]);
        x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, s.y[i]);
        y1 = std::max(y1, s.y[i]);
      }
    }
    if (!std::isfinite(x0)) {
      x0 = 0;
      x1 = 1;
      y0 = 0;
      y1 = 1;
    }
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) {
      y1 += 0.5;
      y0 -= 0.5;
    }
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad;
    y1 += pad;
    auto sx = [&](double x) { return ox + (x - x0) / (x1 - x0) * w; };
    auto sy = [&](double y) { return oy + h - (y - y0) / (y1 - y0) * h; };
    absl::StrAppendFormat(
        &svg, "<text x=\"%.1f\" y=\"18\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", ox,
        Escape(panel.title));
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                          "fill=\"none\" stroke=\"#444\"/>\n",
                          ox, oy, w, h);
    for (int t = 0; t <= 4; ++t) {
      const double yv = y0 + (y1 - y0) * t / 4, xv = x0 + (x1 - x0) * t / 4;
      absl::StrAppendFormat(
          &svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ox,
          sy(yv), ox + w, sy(yv));
      absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                            ox - 4, sy(yv) + 4, Tick(yv));
      absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                            sx(xv), oy + h + 16, Tick(xv));
    }
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                          ox + w / 2, oy + h + 34, Escape(panel.x_label));
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-90 %.1f %.1f)\" "
                          "text-anchor=\"middle\">%s</text>\n",
                          ox - 45, oy + h / 2, ox - 45, oy + h / 2, Escape(panel.y_label));
    for (size_t k = 0; k < panel.series.size(); ++k) {
      const auto& s = panel.series[k];
      const char* colour = kColours[k % std::size(kColours)];
      std::string points;
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!std::isfinite(s.y[i])) continue;
        absl::StrAppendFormat(&points, "%.1f,%.1f ", sx(s.x[i]), sy(s.y[i]));
      }
      absl::StrAppendFormat(
          &svg, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>\n",
          colour, points);
      absl::StrAppendFormat(&svg,
                            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                            "stroke-width=\"3\"/>\n",
                            ox + w - 150, oy + 14 + 16 * k, ox + w - 130, oy + 14 + 16 * k, colour);
      absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", ox + w - 125,
                            oy + 18 + 16 * k, Escape(s.name));
    }
  }
  svg += "</svg>\n";
  return svg;
}

absl::Status WriteSvg(const std::string& path, const std::vector<Panel>& panels) {
  std::ofstream f(path);
  f << RenderSvg(panels);
  if (!f) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace trm::train
