// Summary statistics against reference values (R's qt/pt, hand computation).
#include "common/stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace flyp::stats {
namespace {

TEST(Stats, MeanAndSampleStd) {
  EXPECT_DOUBLE_EQ(Mean({1, 2, 3, 4}), 2.5);
  EXPECT_TRUE(std::isnan(Mean({})));
  // sum of squares 5, n - 1 = 3.
  EXPECT_DOUBLE_EQ(SampleStd({1, 2, 3, 4}), std::sqrt(5.0 / 3.0));
  EXPECT_EQ(SampleStd({7}), 0);
}

TEST(Stats, Median) {
  EXPECT_DOUBLE_EQ(Median({5, 1, 3}), 3);
  EXPECT_DOUBLE_EQ(Median({4, 1, 3, 2}), 2.5);  // (2 + 3) / 2
  EXPECT_DOUBLE_EQ(Median({7}), 7);
  EXPECT_TRUE(std::isnan(Median({})));
}

TEST(Stats, StudentTMatchesReferenceQuantiles) {
  // qt(0.975, df) in R.
  EXPECT_NEAR(StudentTQuantile(0.95, 1), 12.706205, 1e-5);
  EXPECT_NEAR(StudentTQuantile(0.95, 2), 4.302653, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.95, 4), 2.776445, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.95, 10), 2.228139, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.95, 30), 2.042272, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.95, 1e6), 1.959966, 1e-5);  // the normal's
  EXPECT_NEAR(StudentTQuantile(0.99, 4), 4.604095, 1e-6);
  // pt(2, 3) = 0.930337.
  EXPECT_NEAR(StudentTCdf(2, 3), 0.930337, 1e-6);
  EXPECT_NEAR(StudentTCdf(-2, 3), 1 - 0.930337, 1e-6);
  EXPECT_DOUBLE_EQ(StudentTCdf(0, 5), 0.5);
}

TEST(Stats, IntervalsOfAMeanAndOfAPairedDifference) {
  // x = 1..5: mean 3, s = sqrt(2.5), half = 2.776445 * sqrt(2.5) / sqrt(5).
  Interval m = MeanInterval({1, 2, 3, 4, 5});
  const double half = 2.776445 * std::sqrt(2.5) / std::sqrt(5.0);
  EXPECT_EQ(m.n, 5);
  EXPECT_DOUBLE_EQ(m.mean, 3);
  EXPECT_NEAR(m.low, 3 - half, 1e-5);
  EXPECT_NEAR(m.high, 3 + half, 1e-5);
  EXPECT_EQ(m.Sign(), 1);
  // Pairs that move together per replicate: the differences vary far less than either side.
  std::vector<double> a = {0.70, 0.80, 0.75, 0.72, 0.78}, b = {0.61, 0.70, 0.66, 0.62, 0.67};
  Interval d = PairedDifferenceInterval(a, b);
  EXPECT_NEAR(d.mean, 0.098, 1e-12);  // (0.09 + 0.10 + 0.09 + 0.10 + 0.11) / 5
  EXPECT_EQ(d.Sign(), 1);
  // An unpaired look at the same numbers would not separate them as sharply.
  EXPECT_LT(d.high - d.low, MeanInterval(a).high - MeanInterval(a).low);
  Interval flat = PairedDifferenceInterval({0.5, 0.6}, {0.6, 0.5});
  EXPECT_EQ(flat.Sign(), 0);
  Interval one = MeanInterval({0.4});
  EXPECT_FALSE(one.defined());
  EXPECT_EQ(one.Sign(), 0);
  EXPECT_DOUBLE_EQ(one.low, 0.4);
}

}  // namespace
}  // namespace flyp::stats
