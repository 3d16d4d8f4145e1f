#include "worker/data/shifts.h"

#include <gtest/gtest.h>

#include <cmath>

namespace flyp::data {
namespace {

v1::Shift MakeShift(v1::ShiftKind kind, float severity) {
  v1::Shift s;
  s.set_kind(kind);
  s.set_severity(severity);
  return s;
}

// A 3-channel 9x9 image with distinct values in (0, 1).
FloatImage Pattern() {
  FloatImage im(3, 9, 9);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 9; ++y)
      for (int x = 0; x < 9; ++x) im.at(c, y, x) = 0.1f + 0.8f * ((x * 7 + y * 3 + c * 5) % 17) / 16.0f;
  return im;
}

TEST(Shifts, EachChangesTheImageAndIsDeterministic) {
  const v1::Shift shifts[] = {MakeShift(v1::SHIFT_KIND_ROTATE, 30),    MakeShift(v1::SHIFT_KIND_INVERT, 0),
                              MakeShift(v1::SHIFT_KIND_NOISE, 0.1f),   MakeShift(v1::SHIFT_KIND_BLUR, 1.0f),
                              MakeShift(v1::SHIFT_KIND_OCCLUDE, 0.4f), MakeShift(v1::SHIFT_KIND_SCALE, 0.6f)};
  const FloatImage base = Pattern();
  for (const v1::Shift& s : shifts) {
    ASSERT_TRUE(ValidateShift(s).ok()) << ShiftKindName(s.kind());
    FloatImage a = base, b = base;
    ApplyShift(s, 42, 7, &a);
    ApplyShift(s, 42, 7, &b);
    EXPECT_NE(a.data, base.data) << ShiftKindName(s.kind());
    EXPECT_EQ(a.data, b.data) << ShiftKindName(s.kind());
  }
  // The random ones depend on (seed, index).
  for (v1::ShiftKind kind : {v1::SHIFT_KIND_NOISE, v1::SHIFT_KIND_OCCLUDE}) {
    const v1::Shift s = MakeShift(kind, kind == v1::SHIFT_KIND_NOISE ? 0.1f : 0.3f);
    FloatImage a = base, b = base, c = base;
    ApplyShift(s, 42, 7, &a);
    ApplyShift(s, 42, 8, &b);
    ApplyShift(s, 43, 7, &c);
    EXPECT_NE(a.data, b.data) << ShiftKindName(kind);
    EXPECT_NE(a.data, c.data) << ShiftKindName(kind);
  }
}

TEST(Shifts, InvertIsOneMinus) {
  FloatImage im = Pattern();
  const FloatImage base = im;
  ApplyShift(MakeShift(v1::SHIFT_KIND_INVERT, 0), 0, 0, &im);
  for (size_t i = 0; i < im.data.size(); ++i) EXPECT_FLOAT_EQ(im.data[i], 1.0f - base.data[i]);
}

TEST(Shifts, Rotate90IsCounterClockwise) {
  FloatImage im = Pattern();
  const FloatImage base = im;
  ApplyShift(MakeShift(v1::SHIFT_KIND_ROTATE, 90), 0, 0, &im);
  // Counter-clockwise: the top-right corner moves to the top-left;
  // out(x, y) = in(8 - y, x) for a 9x9 image.
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 9; ++y)
      for (int x = 0; x < 9; ++x) EXPECT_NEAR(im.at(c, y, x), base.at(c, x, 8 - y), 1e-5);
}

TEST(Shifts, BlurKeepsConstantsAndSpreadsPoints) {
  FloatImage flat(3, 8, 8, 0.3f);
  ApplyShift(MakeShift(v1::SHIFT_KIND_BLUR, 1.5f), 0, 0, &flat);
  for (float v : flat.data) EXPECT_NEAR(v, 0.3f, 1e-6);
  FloatImage dot(1, 15, 15, 0.0f);
  dot.at(0, 7, 7) = 1.0f;
  ApplyShift(MakeShift(v1::SHIFT_KIND_BLUR, 1.0f), 0, 0, &dot);
  // Separable gaussian, radius 3: center = g(0)^2 with g normalised.
  double sum = 0;
  for (int i = -3; i <= 3; ++i) sum += std::exp(-0.5 * i * i);
  EXPECT_NEAR(dot.at(0, 7, 7), 1.0 / (sum * sum), 1e-6);
  EXPECT_NEAR(dot.at(0, 7, 8), std::exp(-0.5) / (sum * sum), 1e-6);
  double total = 0;
  for (float v : dot.data) total += v;
  EXPECT_NEAR(total, 1.0, 1e-5);
}

TEST(Shifts, OccludeCoversASquareOfGray) {
  FloatImage im(3, 10, 10, 0.0f);
  ApplyShift(MakeShift(v1::SHIFT_KIND_OCCLUDE, 0.3f), 1, 2, &im);
  int gray = 0;
  for (float v : im.data) gray += v == 0.5f;
  EXPECT_EQ(gray, 3 * 3 * 3);
}

TEST(Shifts, ScaleZoomsAboutTheCenter) {
  FloatImage im(1, 9, 9, 1.0f);
  ApplyShift(MakeShift(v1::SHIFT_KIND_SCALE, 0.5f), 0, 0, &im);
  EXPECT_FLOAT_EQ(im.at(0, 4, 4), 1.0f);  // the center is fixed
  EXPECT_FLOAT_EQ(im.at(0, 0, 0), 0.0f);  // shrunk onto black
  FloatImage p = Pattern(), base = Pattern();
  ApplyShift(MakeShift(v1::SHIFT_KIND_SCALE, 2.0f), 0, 0, &p);
  // Zoom 2: out(x, y) = in(4 + (x - 4) / 2, ...); x = 6 -> in x = 5.
  EXPECT_NEAR(p.at(0, 4, 6), base.at(0, 4, 5), 1e-6);
  EXPECT_NEAR(p.at(0, 4, 4), base.at(0, 4, 4), 1e-6);
}

TEST(Shifts, ValidationNamesTheShift) {
  Status st = ValidateShift(MakeShift(v1::SHIFT_KIND_OCCLUDE, 1.5f));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("occlude"), std::string::npos);
  EXPECT_FALSE(ValidateShift(MakeShift(v1::SHIFT_KIND_NOISE, -1)).ok());
  EXPECT_FALSE(ValidateShift(MakeShift(v1::SHIFT_KIND_SCALE, 0)).ok());
  EXPECT_FALSE(ValidateShift(MakeShift(v1::SHIFT_KIND_UNSPECIFIED, 1)).ok());
}

}  // namespace
}  // namespace flyp::data
