// A minimal SVG plot writer (no dependencies): axes with "nice" ticks and
// tick labels, axis titles, a title, a legend, and several series, each
// drawn as a polyline through its points with a marker per point and an
// optional text label beside each point; grouped bar charts; several plots
// side by side in one document (panels).
//
// Contract of RenderSvgPlot:
//  - the result is a complete, well-formed SVG 1.1 document (XML declaration
//    first); every text (title, axis labels, series names, point labels) is
//    XML-escaped, so arbitrary user strings are safe;
//  - every finite point becomes one `<g class="point">` element holding a
//    `<title>` tooltip "series: (x, y)" (plus " label" when set) and a marker;
//    points with a non-finite coordinate are skipped (not drawn, no NaN ever
//    reaches the document); a highlighted point also gets a
//    `<circle class="highlight">` ring; without any finite point the plot
//    area says "no data";
//  - axis ranges: the given fixed range when set, else the data range padded
//    by 5% and widened to the enclosing tick multiples; a degenerate range
//    (one distinct value or no data) becomes value ± 1 (or [0, 1] without
//    data);
//  - numbers in the document are written with at most 2 decimals;
//  - the legend is never clipped: its column is as wide as its longest
//    entry (estimated at kLegendCharWidth pixels per character), and the
//    document widens when the requested width would leave the plot area
//    narrower than kMinPlotWidth.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace flyp::svg {

enum class Marker { kCircle, kSquare, kTriangle, kDiamond };

struct PlotPoint {
  double x = 0;
  double y = 0;
  // Drawn next to the marker when non-empty (e.g. the WiSE-FT alpha).
  std::string label;
  // Circled (e.g. the chosen alpha).
  bool highlight = false;
};

struct PlotSeries {
  std::string name;  // legend entry
  std::vector<PlotPoint> points;
  // Connect the points in the given order.
  bool lines = true;
  // CSS colour; empty: taken from a fixed palette by series index.
  std::string color;
  // Empty: circle, square, triangle, diamond by series index.
  std::optional<Marker> marker;
  // Draw a marker per point (curves of hundreds of steps: no).
  bool markers = true;
};

struct AxisRange {
  double min = 0;
  double max = 1;
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 640;   // pixels
  int height = 480;  // pixels
  std::optional<AxisRange> x_range;
  std::optional<AxisRange> y_range;
  // Target number of ticks per axis (the actual number is 1-2-5 rounded).
  int ticks = 6;
  // A legend right of the plot (when there are series).
  bool legend = true;
};

// Legend text is estimated at this many pixels per character (12 px
// sans-serif averages ~6.5; the estimate errs wide).
inline constexpr double kLegendCharWidth = 7.5;
inline constexpr double kMinPlotWidth = 320;

std::string RenderSvgPlot(const PlotOptions& options, const std::vector<PlotSeries>& series);

// One bar series of a grouped bar chart: a value per category (nullopt: no bar).
struct BarSeries {
  std::string name;
  std::vector<std::optional<double>> values;
  std::string color;  // empty: the palette by index
};
// Bars grouped by category (x), one per series, each labelled with its
// value; y from options.y_range or [0, the largest value rounded up to a
// tick]. Same document and legend contract as RenderSvgPlot; "no data"
// when no value is set.
std::string RenderSvgBarChart(const PlotOptions& options, const std::vector<std::string>& categories,
                              const std::vector<BarSeries>& series);

// Several complete SVG documents (RenderSvgPlot / RenderSvgBarChart) laid
// out in a grid of `columns` panels per row, as one document.
std::string RenderSvgPanels(const std::vector<std::string>& panels, int columns);

// Helpers, exposed for tests.

// Escapes & < > " ' for XML text and attribute values.
std::string EscapeXml(const std::string& text);

// A "nice" tick step (1, 2 or 5 times a power of ten) such that [lo, hi]
// holds about `target` ticks. Requires hi > lo and target >= 1.
double NiceTickStep(double lo, double hi, int target);

// Tick values k * step inside [lo, hi] (with a tolerance of 1e-9 * step).
std::vector<double> TickValues(double lo, double hi, double step);

// A tick label: as many decimals as the step needs (step 0.5 -> "2.5",
// step 10 -> "20", step 0.02 -> "0.04"), "-0" written as "0".
std::string FormatTick(double value, double step);

}  // namespace flyp::svg
