#include "worker/report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace flyp::svg {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr Marker kMarkers[] = {Marker::kCircle, Marker::kSquare, Marker::kTriangle, Marker::kDiamond};

// A coordinate for the document: at most 2 decimals, trailing zeros dropped,
// never "nan"/"inf" (a pixel coordinate can only be non-finite for absurd
// inputs such as 1e308; clamping keeps the document valid).
std::string Num(double v) {
  if (!std::isfinite(v)) v = 0;
  v = std::clamp(v, -1e9, 1e9);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  std::string s(buf);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

// Shortest %g form for tooltips ("0.712", "1e-05").
std::string Short(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

bool Finite(const PlotPoint& p) { return std::isfinite(p.x) && std::isfinite(p.y); }

size_t Characters(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Width of the legend column right of the plot area: the key (30 px), the
// longest name, and a margin; at least the 170 px the plots always had.
double LegendColumn(const std::vector<std::string>& names) {
  size_t longest = 0;
  for (const std::string& n : names) longest = std::max(longest, Characters(n));
  return std::max(170.0, 15 + 30 + kLegendCharWidth * static_cast<double>(longest) + 15);
}

// Data range of one coordinate over every finite point, padded and rounded
// to ticks; or the fixed range.
AxisRange ResolveRange(const std::optional<AxisRange>& fixed, const std::vector<PlotSeries>& series,
                       bool x_axis, int ticks) {
  if (fixed && std::isfinite(fixed->min) && std::isfinite(fixed->max) && fixed->max > fixed->min) {
    return *fixed;
  }
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (const PlotSeries& s : series) {
    for (const PlotPoint& p : s.points) {
      if (!Finite(p)) continue;
      const double v = x_axis ? p.x : p.y;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(lo <= hi)) return {0, 1};
  if (hi == lo) {
    lo -= 1;
    hi += 1;
  } else {
    const double pad = 0.05 * (hi - lo);
    lo -= pad;
    hi += pad;
  }
  const double step = NiceTickStep(lo, hi, ticks);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step};
}

void MarkerElement(std::string& out, Marker m, double cx, double cy, const std::string& color) {
  const std::string fill = " fill=\"" + color + "\" stroke=\"white\" stroke-width=\"1\"";
  switch (m) {
    case Marker::kCircle:
      out += "<circle cx=\"" + Num(cx) + "\" cy=\"" + Num(cy) + "\" r=\"4\"" + fill + "/>";
      break;
    case Marker::kSquare:
      out +=
          "<rect x=\"" + Num(cx - 4) + "\" y=\"" + Num(cy - 4) + "\" width=\"8\" height=\"8\"" + fill + "/>";
      break;
    case Marker::kTriangle:
      out += "<polygon points=\"" + Num(cx) + "," + Num(cy - 5) + " " + Num(cx + 5) + "," + Num(cy + 4) +
             " " + Num(cx - 5) + "," + Num(cy + 4) + "\"" + fill + "/>";
      break;
    case Marker::kDiamond:
      out += "<polygon points=\"" + Num(cx) + "," + Num(cy - 5) + " " + Num(cx + 5) + "," + Num(cy) + " " +
             Num(cx) + "," + Num(cy + 5) + " " + Num(cx - 5) + "," + Num(cy) + "\"" + fill + "/>";
      break;
  }
}

// The document's opening: XML declaration, root element, white background
// and the title centred over the plot area.
std::string DocumentStart(double width, double height, const std::string& title, double title_x) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + Num(width) + "\" height=\"" +
         Num(height) + "\" viewBox=\"0 0 " + Num(width) + " " + Num(height) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out +=
      "<rect x=\"0\" y=\"0\" width=\"" + Num(width) + "\" height=\"" + Num(height) + "\" fill=\"white\"/>\n";
  if (!title.empty()) {
    out += "<text class=\"title\" x=\"" + Num(title_x) +
           "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + EscapeXml(title) + "</text>\n";
  }
  return out;
}

// Axis titles, and "no data" in the middle of an empty plot area.
std::string AxisTitles(const PlotOptions& options, double left, double top, double pw, double ph,
                       bool empty) {
  std::string out;
  if (!options.x_label.empty()) {
    out += "<text class=\"x-label\" x=\"" + Num(left + pw / 2) + "\" y=\"" + Num(top + ph + 42) +
           "\" text-anchor=\"middle\">" + EscapeXml(options.x_label) + "</text>\n";
  }
  if (!options.y_label.empty()) {
    const double cx = 18, cy = top + ph / 2;
    out += "<text class=\"y-label\" x=\"" + Num(cx) + "\" y=\"" + Num(cy) +
           "\" text-anchor=\"middle\" transform=\"rotate(-90 " + Num(cx) + " " + Num(cy) + ")\">" +
           EscapeXml(options.y_label) + "</text>\n";
  }
  if (empty) {
    out += "<text class=\"no-data\" x=\"" + Num(left + pw / 2) + "\" y=\"" + Num(top + ph / 2) +
           "\" text-anchor=\"middle\" fill=\"#808080\">no data</text>\n";
  }
  return out;
}

}  // namespace

std::string EscapeXml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

double NiceTickStep(double lo, double hi, int target) {
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  double nice = 10;
  if (norm < 1.5) {
    nice = 1;
  } else if (norm < 3) {
    nice = 2;
  } else if (norm < 7) {
    nice = 5;
  }
  return nice * mag;
}

std::vector<double> TickValues(double lo, double hi, double step) {
  std::vector<double> ticks;
  const long long first = static_cast<long long>(std::ceil(lo / step - 1e-9));
  const long long last = static_cast<long long>(std::floor(hi / step + 1e-9));
  for (long long k = first; k <= last && ticks.size() < 1000; ++k) ticks.push_back(k * step);
  return ticks;
}

std::string FormatTick(double value, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  std::string s(buf);
  if (s.size() > 1 && s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string RenderSvgPlot(const PlotOptions& options, const std::vector<PlotSeries>& series) {
  double width = std::max(options.width, 200);
  const double height = std::max(options.height, 150);
  const int ticks = std::max(options.ticks, 2);
  const bool legend = options.legend && !series.empty();
  const double left = 70, top = options.title.empty() ? 20 : 40, bottom = 55;
  std::vector<std::string> names;
  for (const PlotSeries& s : series) names.push_back(s.name);
  const double right = legend ? LegendColumn(names) : 20;
  width = std::max(width, left + kMinPlotWidth + right);
  const double pw = std::max(width - left - right, 10.0);
  const double ph = std::max(height - top - bottom, 10.0);

  const AxisRange xr = ResolveRange(options.x_range, series, /*x_axis=*/true, ticks);
  const AxisRange yr = ResolveRange(options.y_range, series, /*x_axis=*/false, ticks);
  auto px = [&](double x) { return left + (x - xr.min) / (xr.max - xr.min) * pw; };
  auto py = [&](double y) { return top + ph - (y - yr.min) / (yr.max - yr.min) * ph; };

  std::string out = DocumentStart(width, height, options.title, left + pw / 2);

  // Grid, ticks and tick labels.
  const double xstep = NiceTickStep(xr.min, xr.max, ticks);
  const double ystep = NiceTickStep(yr.min, yr.max, ticks);
  out += "<g class=\"axes\" stroke=\"#000\" stroke-width=\"1\">\n";
  for (double t : TickValues(xr.min, xr.max, xstep)) {
    const double x = px(t);
    out += "<line x1=\"" + Num(x) + "\" y1=\"" + Num(top) + "\" x2=\"" + Num(x) + "\" y2=\"" + Num(top + ph) +
           "\" stroke=\"#e0e0e0\"/>";
    out += "<line x1=\"" + Num(x) + "\" y1=\"" + Num(top + ph) + "\" x2=\"" + Num(x) + "\" y2=\"" +
           Num(top + ph + 5) + "\"/>";
    out += "<text x=\"" + Num(x) + "\" y=\"" + Num(top + ph + 18) +
           "\" text-anchor=\"middle\" stroke=\"none\">" + FormatTick(t, xstep) + "</text>\n";
  }
  for (double t : TickValues(yr.min, yr.max, ystep)) {
    const double y = py(t);
    out += "<line x1=\"" + Num(left) + "\" y1=\"" + Num(y) + "\" x2=\"" + Num(left + pw) + "\" y2=\"" +
           Num(y) + "\" stroke=\"#e0e0e0\"/>";
    out += "<line x1=\"" + Num(left - 5) + "\" y1=\"" + Num(y) + "\" x2=\"" + Num(left) + "\" y2=\"" +
           Num(y) + "\"/>";
    out += "<text x=\"" + Num(left - 8) + "\" y=\"" + Num(y + 4) + "\" text-anchor=\"end\" stroke=\"none\">" +
           FormatTick(t, ystep) + "</text>\n";
  }
  out += "<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" + Num(pw) + "\" height=\"" +
         Num(ph) + "\" fill=\"none\"/>\n";
  out += "</g>\n";
  bool any_point = false;
  for (const PlotSeries& s : series) {
    for (const PlotPoint& p : s.points) any_point = any_point || Finite(p);
  }
  out += AxisTitles(options, left, top, pw, ph, !any_point);

  // Series.
  for (size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& s = series[i];
    const std::string color = s.color.empty() ? kPalette[i % kPaletteSize] : EscapeXml(s.color);
    const Marker marker = s.marker.value_or(kMarkers[i % 4]);
    out += "<g class=\"series\">\n";
    if (s.lines) {
      std::string pts;
      for (const PlotPoint& p : s.points) {
        if (!Finite(p)) continue;
        if (!pts.empty()) pts += ' ';
        pts += Num(px(p.x)) + "," + Num(py(p.y));
      }
      if (!pts.empty()) {
        out += "<polyline points=\"" + pts + "\" fill=\"none\" stroke=\"" + color +
               "\" stroke-width=\"1.5\"/>\n";
      }
    }
    for (const PlotPoint& p : s.points) {
      if (!Finite(p)) continue;
      const double cx = px(p.x), cy = py(p.y);
      std::string tip = s.name + ": (" + Short(p.x) + ", " + Short(p.y) + ")";
      if (!p.label.empty()) tip += " " + p.label;
      out += "<g class=\"point\"><title>" + EscapeXml(tip) + "</title>";
      if (p.highlight) {
        out += "<circle class=\"highlight\" cx=\"" + Num(cx) + "\" cy=\"" + Num(cy) +
               "\" r=\"9\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.5\"/>";
      }
      if (s.markers || p.highlight) MarkerElement(out, marker, cx, cy, color);
      out += "</g>";
      if (!p.label.empty()) {
        out += "<text class=\"point-label\" x=\"" + Num(cx + 6) + "\" y=\"" + Num(cy - 6) +
               "\" font-size=\"10\" fill=\"" + color + "\">" + EscapeXml(p.label) + "</text>";
      }
      out += "\n";
    }
    out += "</g>\n";
  }

  // Legend, right of the plot area.
  if (legend) {
    out += "<g class=\"legend\">\n";
    const double lx = left + pw + 15;
    for (size_t i = 0; i < series.size(); ++i) {
      const PlotSeries& s = series[i];
      const std::string color = s.color.empty() ? kPalette[i % kPaletteSize] : EscapeXml(s.color);
      const double ly = top + 10 + 20 * static_cast<double>(i);
      out += "<line x1=\"" + Num(lx) + "\" y1=\"" + Num(ly) + "\" x2=\"" + Num(lx + 24) + "\" y2=\"" +
             Num(ly) + "\" stroke=\"" + color + "\" stroke-width=\"1.5\"/>";
      MarkerElement(out, s.marker.value_or(kMarkers[i % 4]), lx + 12, ly, color);
      out += "<text x=\"" + Num(lx + 30) + "\" y=\"" + Num(ly + 4) + "\">" + EscapeXml(s.name) + "</text>\n";
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

std::string RenderSvgBarChart(const PlotOptions& options, const std::vector<std::string>& categories,
                              const std::vector<BarSeries>& series) {
  const double height = std::max(options.height, 150);
  const int ticks = std::max(options.ticks, 2);
  const bool legend = options.legend && !series.empty();
  const double left = 70, top = options.title.empty() ? 20 : 40, bottom = 55;
  std::vector<std::string> names;
  for (const BarSeries& b : series) names.push_back(b.name);
  const double right = legend ? LegendColumn(names) : 20;
  const double width =
      std::max({static_cast<double>(std::max(options.width, 200)), left + kMinPlotWidth + right,
                left + right + 24.0 * static_cast<double>(categories.size() * (series.size() + 1))});
  const double pw = width - left - right;
  const double ph = std::max(height - top - bottom, 10.0);
  double hi = 0;
  bool any = false;
  for (const BarSeries& b : series) {
    for (const auto& v : b.values) {
      if (v && std::isfinite(*v)) {
        hi = std::max(hi, *v);
        any = true;
      }
    }
  }
  AxisRange yr{0, hi > 0 ? hi : 1};
  if (options.y_range && options.y_range->max > options.y_range->min) {
    yr = *options.y_range;
  } else {
    const double step = NiceTickStep(0, yr.max, ticks);
    yr.max = std::ceil(yr.max / step) * step;
  }
  auto py = [&](double y) {
    return top + ph - (std::clamp(y, yr.min, yr.max) - yr.min) / (yr.max - yr.min) * ph;
  };

  std::string out = DocumentStart(width, height, options.title, left + pw / 2);
  const double ystep = NiceTickStep(yr.min, yr.max, ticks);
  out += "<g class=\"axes\" stroke=\"#000\" stroke-width=\"1\">\n";
  for (double t : TickValues(yr.min, yr.max, ystep)) {
    const double y = py(t);
    out += "<line x1=\"" + Num(left) + "\" y1=\"" + Num(y) + "\" x2=\"" + Num(left + pw) + "\" y2=\"" +
           Num(y) + "\" stroke=\"#e0e0e0\"/>";
    out += "<text x=\"" + Num(left - 8) + "\" y=\"" + Num(y + 4) + "\" text-anchor=\"end\" stroke=\"none\">" +
           FormatTick(t, ystep) + "</text>\n";
  }
  out += "<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" + Num(pw) + "\" height=\"" +
         Num(ph) + "\" fill=\"none\"/>\n</g>\n";
  out += AxisTitles(options, left, top, pw, ph, !any);
  const double group = categories.empty() ? pw : pw / static_cast<double>(categories.size());
  const double bar = group / static_cast<double>(series.size() + 1);
  for (size_t c = 0; c < categories.size(); ++c) {
    const double gx = left + group * static_cast<double>(c);
    out += "<text class=\"category\" x=\"" + Num(gx + group / 2) + "\" y=\"" + Num(top + ph + 18) +
           "\" text-anchor=\"middle\">" + EscapeXml(categories[c]) + "</text>\n";
    for (size_t i = 0; i < series.size(); ++i) {
      const BarSeries& b = series[i];
      if (c >= b.values.size() || !b.values[c] || !std::isfinite(*b.values[c])) continue;
      const double v = *b.values[c];
      const std::string color = b.color.empty() ? kPalette[i % kPaletteSize] : EscapeXml(b.color);
      const double x = gx + bar / 2 + bar * static_cast<double>(i);
      const double y = py(v);
      out += "<g class=\"bar\"><title>" + EscapeXml(b.name + " \xC2\xB7 " + categories[c] + ": " + Short(v)) +
             "</title><rect x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" + Num(bar * 0.9) +
             "\" height=\"" + Num(top + ph - y) + "\" fill=\"" + color + "\"/></g>";
      out += "<text class=\"bar-label\" x=\"" + Num(x + bar * 0.45) + "\" y=\"" + Num(y - 3) +
             "\" text-anchor=\"middle\" font-size=\"9\">" + EscapeXml(Short(v)) + "</text>\n";
    }
  }
  if (legend) {
    out += "<g class=\"legend\">\n";
    const double lx = left + pw + 15;
    for (size_t i = 0; i < series.size(); ++i) {
      const std::string color =
          series[i].color.empty() ? kPalette[i % kPaletteSize] : EscapeXml(series[i].color);
      const double ly = top + 10 + 20 * static_cast<double>(i);
      out += "<rect x=\"" + Num(lx) + "\" y=\"" + Num(ly - 6) + "\" width=\"24\" height=\"12\" fill=\"" +
             color + "\"/><text x=\"" + Num(lx + 30) + "\" y=\"" + Num(ly + 4) + "\">" +
             EscapeXml(series[i].name) + "</text>\n";
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

std::string RenderSvgPanels(const std::vector<std::string>& panels, int columns) {
  columns = std::max(1, columns);
  // Each panel's size from its root element.
  auto attr = [](const std::string& doc, const std::string& name) {
    const std::string key = " " + name + "=\"";
    const size_t at = doc.find(key);
    if (at == std::string::npos) return 0.0;
    return std::atof(doc.c_str() + at + key.size());
  };
  std::vector<double> col_w(static_cast<size_t>(columns), 0);
  std::vector<double> row_h((panels.size() + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns),
                            0);
  for (size_t i = 0; i < panels.size(); ++i) {
    col_w[i % columns] = std::max(col_w[i % columns], attr(panels[i], "width"));
    row_h[i / columns] = std::max(row_h[i / columns], attr(panels[i], "height"));
  }
  double width = 0, height = 0;
  for (double w : col_w) width += w;
  for (double h : row_h) height += h;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + Num(width) + "\" height=\"" +
         Num(height) + "\" viewBox=\"0 0 " + Num(width) + " " + Num(height) + "\">\n";
  double y = 0;
  for (size_t r = 0; r < row_h.size(); ++r) {
    double x = 0;
    for (size_t c = 0; c < static_cast<size_t>(columns) && r * columns + c < panels.size(); ++c) {
      std::string doc = panels[r * columns + c];
      const size_t root = doc.find("<svg ");
      if (root == std::string::npos) continue;
      doc = doc.substr(root);  // drop the XML declaration: a nested <svg> element
      doc.insert(4, " x=\"" + Num(x) + "\" y=\"" + Num(y) + "\"");
      out += doc;
      x += col_w[c];
    }
    y += row_h[r];
  }
  out += "</svg>\n";
  return out;
}

}  // namespace flyp::svg
