#include "common/numbers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace flyp {
namespace {

std::string Error(const Status& s) { return s.ok() ? "OK" : s.message(); }

TEST(ParseInt64, AcceptsTheWholeRange) {
  EXPECT_EQ(*ParseInt64("0", "n"), 0);
  EXPECT_EQ(*ParseInt64("-0", "n"), 0);
  EXPECT_EQ(*ParseInt64("007", "n"), 7);
  EXPECT_EQ(*ParseInt64("-9223372036854775808", "n"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*ParseInt64("9223372036854775807", "n"), std::numeric_limits<int64_t>::max());
}

TEST(ParseInt64, RefusesAnythingButDigitsNamingTheField) {
  for (const char* bad : {"", " 1", "1 ", "+1", "0x10", "1.0", "1e3", "12a", "-", "--1", "١"}) {
    auto r = ParseInt64(bad, "page_token");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "page_token: expected an integer, got '" + QuoteForError(bad) + "'")
        << bad;
  }
  // Without a field name the message starts with what was expected.
  EXPECT_EQ(Error(ParseInt64("two", "").status()), "expected an integer, got 'two'");
}

TEST(ParseInt64, OutOfRangeGivesTheRange) {
  EXPECT_EQ(Error(ParseInt64("9223372036854775808", "seq").status()),
            "seq: expected an integer in [-9223372036854775808, 9223372036854775807], got "
            "'9223372036854775808'");
  EXPECT_EQ(Error(ParseInt64("-1", "page_token", 0).status()),
            "page_token: expected an integer in [0, 9223372036854775807], got '-1'");
  EXPECT_EQ(*ParseInt64("10", "n", 0, 10), 10);
  EXPECT_EQ(Error(ParseInt64("11", "n", 0, 10).status()), "n: expected an integer in [0, 10], got '11'");
}

TEST(ParseInt32, NarrowerRange) {
  EXPECT_EQ(*ParseInt32("-2147483648", "x"), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(Error(ParseInt32("2147483648", "rank").status()),
            "rank: expected an integer in [-2147483648, 2147483647], got '2147483648'");
  EXPECT_EQ(*ParseInt32("65535", "port", 0, 65535), 65535);
  EXPECT_EQ(Error(ParseInt32("65536", "port", 0, 65535).status()),
            "port: expected an integer in [0, 65535], got '65536'");
}

TEST(ParseUint64, NoSign) {
  EXPECT_EQ(*ParseUint64("18446744073709551615", "u"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(Error(ParseUint64("18446744073709551616", "u").status()),
            "u: expected an integer in [0, 18446744073709551615], got '18446744073709551616'");
  EXPECT_EQ(Error(ParseUint64("-1", "u").status()),
            "u: expected an integer in [0, 18446744073709551615], got '-1'");
  EXPECT_EQ(Error(ParseUint64("-x", "u").status()), "u: expected an integer, got '-x'");
  EXPECT_EQ(*ParseUint64("5", "u", 5), 5u);
  EXPECT_FALSE(ParseUint64("6", "u", 5).ok());
}

TEST(ParseDouble, ParsesExactlyAsTheShortestRoundTrip) {
  EXPECT_EQ(*ParseDouble("0.1", "x"), 0.1);
  EXPECT_EQ(*ParseDouble("-2e-3", "x"), -2e-3);
  EXPECT_EQ(*ParseDouble("1E3", "x"), 1000.0);
  EXPECT_EQ(*ParseDouble("5", "x"), 5.0);
  EXPECT_EQ(*ParseDouble("1.7976931348623157e308", "x"), std::numeric_limits<double>::max());
  EXPECT_EQ(*ParseDouble("4.9406564584124654e-324", "x"), std::numeric_limits<double>::denorm_min());
}

TEST(ParseDouble, RefusesNonFiniteAndMalformedText) {
  // 10e(2^63 - 1): the decimal exponent is 2^63, one past int64 (it wrapped
  // to negative and the text was called too small; UBSan found it).
  for (const char* inf : {"inf", "-inf", "nan", "infinity", "1e309", "-1e400", "1e99999999999999999999",
                          "10e9223372036854775807"}) {
    EXPECT_EQ(Error(ParseDouble(inf, "grace-period-s").status()),
              std::string("grace-period-s: expected a finite number, got '") + inf + "'");
  }
  for (const char* bad : {"", "lots", "1.5s", " 1", "+1", "0x1p3", "1e", "1,5"}) {
    EXPECT_EQ(Error(ParseDouble(bad, "lr").status()),
              std::string("lr: expected a number, got '") + bad + "'");
  }
}

// These rounded to (signed) zero, as strtod does: a spec's "eps: 1e-400"
// silently became 0. Out of the type's range is refused either way.
TEST(ParseDouble, UnderflowIsRefusedNotRoundedToZero) {
  for (const char* tiny : {"1e-400", "123456e-400", "0.000001e-320", "1e-99999999999999999999", "-1e-400",
                           "0.01e-9223372036854775808"}) {
    auto r = ParseDouble(tiny, "x");
    ASSERT_FALSE(r.ok()) << tiny << " read as " << *r;
    EXPECT_EQ(r.status().message(),
              std::string("x: expected 0 or a number of magnitude at least 5e-324, got '") + tiny + "'");
  }
  EXPECT_EQ(*ParseDouble("0e-400", "x"), 0.0);  // zero itself is fine
  EXPECT_TRUE(std::signbit(*ParseDouble("-0.0", "x")));
  // Subnormals are kept, not flushed.
  EXPECT_EQ(*ParseDouble("1e-310", "x"), 1e-310);
}

TEST(ParseDouble, Range) {
  EXPECT_EQ(*ParseDouble("0", "s", 0, 10), 0.0);
  EXPECT_EQ(Error(ParseDouble("10.5", "s", 0, 10).status()), "s: expected a number in [0, 10], got '10.5'");
  EXPECT_EQ(Error(ParseDouble("-0.5", "s", 0.25, 1e3).status()),
            "s: expected a number in [0.25, 1000], got '-0.5'");
}

TEST(ParseFloat, RoundsTheTextNotADouble) {
  // Just above the midpoint between 1 and the next float: rounded from the
  // text it goes up; through double it first becomes the exact midpoint and
  // then ties to even, down to 1.
  const char* text = "1.0000000596046447753906251";
  const float up = std::nextafter(1.0f, 2.0f);
  EXPECT_EQ(static_cast<float>(*ParseDouble(text, "x")), 1.0f);
  EXPECT_EQ(*ParseFloat(text, "x"), up);
  EXPECT_EQ(*ParseFloat("0.1", "x"), 0.1f);
  EXPECT_EQ(Error(ParseFloat("1e39", "mlp_ratio").status()),
            "mlp_ratio: expected a finite number, got '1e39'");
  // Rounding to zero would silently change the value: refused.
  EXPECT_EQ(Error(ParseFloat("1e-50", "eps").status()),
            "eps: expected 0 or a number of magnitude at least 1e-45, got '1e-50'");
  EXPECT_GT(*ParseFloat("1e-45", "x"), 0.0f);  // the smallest subnormal
  EXPECT_EQ(*ParseFloat("0.0", "x"), 0.0f);
  EXPECT_FALSE(ParseDouble("-1e-400", "x").ok());
}

TEST(ParseLongDouble, KeepsTheExtraPrecision) {
  auto r = ParseLongDouble("0.1", "x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0.1L);
  EXPECT_NE(*r, static_cast<long double>(0.1));
  EXPECT_FALSE(ParseLongDouble("1.5h", "x").ok());
}

TEST(QuoteForError, BoundsAndEscapes) {
  EXPECT_EQ(QuoteForError("abc"), "abc");
  EXPECT_EQ(QuoteForError(std::string(kMaxQuotedChars, 'a')), std::string(kMaxQuotedChars, 'a'));
  EXPECT_EQ(QuoteForError(std::string(100, 'a')), std::string(kMaxQuotedChars, 'a') + "...");
  EXPECT_EQ(QuoteForError(std::string("a\nb\0c\x7f\xc3\xa9", 8)), "a\\x0Ab\\x00c\\x7F\\xC3\\xA9");
  // A long hostile page token yields a short message.
  auto r = ParseInt64(std::string(1 << 20, '9'), "page_token", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 120u);
}

}  // namespace
}  // namespace flyp
