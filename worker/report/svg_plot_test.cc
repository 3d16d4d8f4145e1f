#include "worker/report/svg_plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/testing/test_env.h"

namespace flyp::svg {
namespace {

// Checks that tags are balanced and properly nested (a parse-free check:
// no comments, CDATA or processing instructions besides the declaration).
::testing::AssertionResult WellFormed(const std::string& doc) {
  std::vector<std::string> stack;
  size_t pos = 0;
  int roots = 0;
  while ((pos = doc.find('<', pos)) != std::string::npos) {
    const size_t end = doc.find('>', pos);
    if (end == std::string::npos) return ::testing::AssertionFailure() << "unterminated tag at " << pos;
    const std::string tag = doc.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (tag.empty()) return ::testing::AssertionFailure() << "empty tag";
    if (tag[0] == '?') continue;  // XML declaration
    if (tag.find('<') != std::string::npos) return ::testing::AssertionFailure() << "'<' inside tag " << tag;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) {
        return ::testing::AssertionFailure()
               << "closing </" << name << "> does not match " << (stack.empty() ? "nothing" : stack.back());
      }
      stack.pop_back();
      continue;
    }
    const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
    if (stack.empty()) ++roots;
    if (tag.back() != '/') stack.push_back(name);
  }
  if (!stack.empty()) return ::testing::AssertionFailure() << "unclosed <" << stack.back() << ">";
  if (roots != 1) return ::testing::AssertionFailure() << roots << " root elements";
  return ::testing::AssertionSuccess();
}

// Every numeric attribute value is a finite decimal number; text has no raw
// '&' other than entities.
::testing::AssertionResult NumbersFinite(const std::string& doc) {
  if (doc.find("nan") != std::string::npos || doc.find("inf") != std::string::npos) {
    return ::testing::AssertionFailure() << "non-finite number in document";
  }
  const std::regex attr(R"re(\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height)="([^"]*)")re");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), attr); it != std::sregex_iterator(); ++it) {
    const std::string v = (*it)[2];
    if (!std::regex_match(v, std::regex(R"(-?\d+(\.\d+)?)"))) {
      return ::testing::AssertionFailure() << (*it)[1] << "=\"" << v << "\" is not a number";
    }
  }
  const std::regex amp("&(?!amp;|lt;|gt;|quot;|apos;)");
  if (std::regex_search(doc, amp)) return ::testing::AssertionFailure() << "unescaped &";
  return ::testing::AssertionSuccess();
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST(SvgPlotTest, NiceTickSteps) {
  EXPECT_DOUBLE_EQ(NiceTickStep(0, 1, 5), 0.2);
  EXPECT_DOUBLE_EQ(NiceTickStep(0, 100, 6), 20);
  EXPECT_DOUBLE_EQ(NiceTickStep(0, 10, 10), 1);
  EXPECT_DOUBLE_EQ(NiceTickStep(60, 90, 6), 5);
  EXPECT_DOUBLE_EQ(NiceTickStep(0, 0.07, 6), 0.01);
}

TEST(SvgPlotTest, TickValuesAndLabels) {
  const std::vector<double> t = TickValues(-0.1, 1.05, 0.2);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_DOUBLE_EQ(t.front(), 0.0);
  EXPECT_DOUBLE_EQ(t.back(), 1.0);
  EXPECT_EQ(FormatTick(0.4, 0.2), "0.4");
  EXPECT_EQ(FormatTick(20, 10), "20");
  EXPECT_EQ(FormatTick(0.04, 0.02), "0.04");
  EXPECT_EQ(FormatTick(-1e-17, 0.2), "0.0");
  EXPECT_EQ(FormatTick(-0.4, 0.2), "-0.4");
}

TEST(SvgPlotTest, EscapesText) {
  EXPECT_EQ(EscapeXml("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  EXPECT_EQ(EscapeXml(std::string("x\x01y")), "x y");
}

TEST(SvgPlotTest, EveryPointIsDrawnAtItsPosition) {
  PlotOptions opt;
  opt.title = "ID <vs> OOD & more";
  opt.x_label = "ID accuracy (%)";
  opt.y_label = "Avg OOD accuracy (%)";
  opt.width = 640;
  opt.height = 480;
  opt.x_range = AxisRange{0, 100};
  opt.y_range = AxisRange{0, 50};
  PlotSeries a{"FLYP", {{10, 5, "a=0"}, {50, 25, "a=0.5"}, {100, 50, "a=1"}}, true, "", std::nullopt};
  PlotSeries b{"FT \"baseline\"", {{20, 40, ""}, {NAN, 3, "skipped"}}, false, "#123456", Marker::kSquare};
  const std::string doc = RenderSvgPlot(opt, {a, b});
  EXPECT_TRUE(WellFormed(doc)) << doc;
  EXPECT_TRUE(NumbersFinite(doc)) << doc;
  EXPECT_EQ(doc.rfind("<?xml", 0), 0u);
  EXPECT_NE(doc.find("ID &lt;vs&gt; OOD &amp; more"), std::string::npos);
  EXPECT_NE(doc.find("FT &quot;baseline&quot;"), std::string::npos);

  // 4 finite points, each a <g class="point"> with a tooltip.
  EXPECT_EQ(Count(doc, "<g class=\"point\">"), 4u);
  EXPECT_NE(doc.find("<title>FLYP: (10, 5) a=0</title>"), std::string::npos);
  EXPECT_NE(doc.find("<title>FLYP: (50, 25) a=0.5</title>"), std::string::npos);
  EXPECT_NE(doc.find("<title>FLYP: (100, 50) a=1</title>"), std::string::npos);
  EXPECT_NE(doc.find("<title>FT &quot;baseline&quot;: (20, 40)</title>"), std::string::npos);
  EXPECT_EQ(doc.find("skipped"), std::string::npos);

  // Plot area: left 70, top 40, width 640-70-170=400, height 480-40-55=385.
  // (50, 25) -> x = 70 + 0.5*400 = 270, y = 40 + 385 - 0.5*385 = 232.5.
  EXPECT_NE(doc.find("<circle cx=\"270\" cy=\"232.5\" r=\"4\""), std::string::npos);
  // (20, 40) square marker centred at x = 150, y = 40 + 385 - 0.8*385 = 117.
  EXPECT_NE(doc.find("<rect x=\"146\" y=\"113\" width=\"8\" height=\"8\" fill=\"#123456\""),
            std::string::npos);
  // One polyline (series b has lines off) through the three points.
  EXPECT_EQ(Count(doc, "<polyline"), 1u);
  EXPECT_NE(doc.find("points=\"110,386.5 270,232.5 470,40\""), std::string::npos);
  // Point labels and the legend.
  EXPECT_NE(doc.find(">a=0.5</text>"), std::string::npos);
  EXPECT_NE(doc.find("<g class=\"legend\">"), std::string::npos);
}

TEST(SvgPlotTest, AutoRangeCoversDataWithNiceTicks) {
  PlotSeries s{"s", {{61.2, 40.1, ""}, {79.9, 47.3, ""}}, true, "", std::nullopt};
  const std::string doc = RenderSvgPlot(PlotOptions{}, {s});
  EXPECT_TRUE(WellFormed(doc));
  EXPECT_TRUE(NumbersFinite(doc));
  // Range 61.2..79.9 padded by 5% -> 60.265..80.835, step 5 -> [60, 85].
  EXPECT_NE(doc.find(">60</text>"), std::string::npos);
  EXPECT_NE(doc.find(">85</text>"), std::string::npos);
  EXPECT_EQ(doc.find(">55</text>"), std::string::npos);
}

// The ecosystem's own check: xmllint parses the document (skipped when
// xmllint is not installed).
TEST(SvgPlotTest, XmllintAcceptsTheDocument) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) GTEST_SKIP() << "xmllint not installed";
  PlotOptions opt;
  opt.title = "a < b & \"c\" \xCE\xB1";
  opt.x_label = "x's";
  PlotSeries a{"s&p", {{1, 2, "\xCE\xB1=0.5"}, {3, 4, "<l>"}}, true, "", std::nullopt};
  PlotSeries b{"t", {{2, 3, ""}}, false, "", Marker::kDiamond};
  PlotSeries c{"u", {{2.5, 3.5, ""}}, false, "", Marker::kTriangle};
  const std::string path = flyp::testing::TempDir() + "/plot.svg";
  std::ofstream(path) << RenderSvgPlot(opt, {a, b, c});
  EXPECT_EQ(std::system(("xmllint --noout " + path).c_str()), 0);
}

TEST(SvgPlotTest, EmptyAndDegenerateInputsStayValid) {
  for (const std::vector<PlotSeries>& series :
       {std::vector<PlotSeries>{}, std::vector<PlotSeries>{{"one", {{1, 1, ""}}, true, "", std::nullopt}},
        std::vector<PlotSeries>{{"non-finite", {{NAN, INFINITY, ""}}, true, "", std::nullopt}},
        std::vector<PlotSeries>{
            {"huge", {{1e300, -1e300, ""}, {-1e300, 1e300, ""}}, true, "", std::nullopt}}}) {
    const std::string doc = RenderSvgPlot(PlotOptions{}, series);
    EXPECT_TRUE(WellFormed(doc)) << doc;
    EXPECT_TRUE(NumbersFinite(doc)) << doc;
    const bool empty = series.empty() || series[0].name == "non-finite";
    EXPECT_EQ(doc.find(">no data</text>") != std::string::npos, empty) << doc;
  }
}

}  // namespace
}  // namespace flyp::svg
