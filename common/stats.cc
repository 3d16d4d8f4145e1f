#include "common/stats.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace flyp::stats {
namespace {

// The continued fraction of the regularised incomplete beta function
// (modified Lentz), for x < (a + 1) / (a + b + 2).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-15;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 1000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < kEps) break;
  }
  return h;
}

// I_x(a, b).
double RegularisedBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1.0 - front * BetaContinuedFraction(b, a, 1.0 - x) / b;
}

}  // namespace

double Mean(const std::vector<double>& x) {
  if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double Median(std::vector<double> x) {
  if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t n = x.size();
  std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n / 2), x.end());
  const double upper = x[n / 2];
  if (n % 2 == 1) return upper;
  return 0.5 * (*std::max_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n / 2)) + upper);
}

double SampleStd(const std::vector<double>& x) {
  if (x.size() < 2) return 0;
  const double m = Mean(x);
  double ss = 0;
  for (double v : x) ss += (v - m) * (v - m);
  return std::sqrt(ss / static_cast<double>(x.size() - 1));
}

double StudentTCdf(double t, double df) {
  const double tail = 0.5 * RegularisedBeta(df / 2.0, 0.5, df / (df + t * t));
  return t >= 0 ? 1.0 - tail : tail;
}

double StudentTQuantile(double level, double df) {
  // P(|T| <= t) = 2 F(t) - 1 increases with t: bisection on [0, hi].
  const double target = 0.5 + level / 2.0;
  double lo = 0, hi = 1;
  while (StudentTCdf(hi, df) < target && hi < 1e12) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (StudentTCdf(mid, df) < target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

int Interval::Sign() const {
  if (!defined()) return 0;
  if (low > 0) return 1;
  if (high < 0) return -1;
  return 0;
}

Interval MeanInterval(const std::vector<double>& x, double level) {
  Interval r;
  r.n = static_cast<int>(x.size());
  if (x.empty()) return r;
  r.mean = r.low = r.high = Mean(x);
  if (r.n < 2) return r;
  const double half = StudentTQuantile(level, r.n - 1) * SampleStd(x) / std::sqrt(static_cast<double>(r.n));
  r.low = r.mean - half;
  r.high = r.mean + half;
  return r;
}

Interval PairedDifferenceInterval(const std::vector<double>& a, const std::vector<double>& b, double level) {
  std::vector<double> d;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d.push_back(a[i] - b[i]);
  return MeanInterval(d, level);
}

}  // namespace flyp::stats
