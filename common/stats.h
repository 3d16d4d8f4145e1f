// Summary statistics for reports (the sweep report's tables): mean, sample
// standard deviation, and Student-t confidence intervals of a mean and of a
// paired difference. With n replicates (seeds) the interval of a mean is
// mean ± t(level, n-1) · s / sqrt(n); a paired difference is the interval of
// the per-replicate differences, so what the replicates share (the same
// data draw, the same test images) cancels.
//
// Thread safety: pure functions.
#pragma once

#include <vector>

namespace flyp::stats {

// The arithmetic mean; NaN for no values.
double Mean(const std::vector<double>& x);
// The median (the mean of the middle two for an even count); NaN for no values.
double Median(std::vector<double> x);
// The sample standard deviation (n - 1 in the denominator); 0 for n < 2.
double SampleStd(const std::vector<double>& x);

// Student's t distribution with `df` >= 1 degrees of freedom: P(T <= t).
double StudentTCdf(double t, double df);
// The t with P(|T| <= t) = level, level in (0, 1): e.g. 2.776 for level 0.95
// and df 4 (the two-sided 95% quantile).
double StudentTQuantile(double level, double df);

struct Interval {
  int n = 0;
  double mean = 0;
  double low = 0;  // == high == mean when n < 2 (no spread to judge)
  double high = 0;
  bool defined() const { return n >= 2; }
  // The interval lies entirely above (1), below (-1) or around (0) zero;
  // 0 when it is not defined.
  int Sign() const;
};

// mean ± t · s / sqrt(n) at `level`.
Interval MeanInterval(const std::vector<double>& x, double level = 0.95);
// The interval of the mean of a[i] - b[i] (equal lengths: pairs).
Interval PairedDifferenceInterval(const std::vector<double>& a, const std::vector<double>& b,
                                  double level = 0.95);

}  // namespace flyp::stats
