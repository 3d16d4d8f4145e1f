#include "common/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace flyp {
namespace {

Json ParseOk(std::string_view text) {
  auto r = ParseJson(text);
  EXPECT_TRUE(r.ok()) << r.status() << " for " << text;
  return r.ok() ? *r : Json();
}

std::string ParseError(std::string_view text) {
  auto r = ParseJson(text);
  EXPECT_FALSE(r.ok()) << "parsed: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(JsonTest, ParsesScalars) {
  EXPECT_TRUE(ParseOk("null").is_null());
  EXPECT_EQ(ParseOk("true").as_bool(), true);
  EXPECT_EQ(ParseOk(" false ").as_bool(), false);
  EXPECT_EQ(ParseOk("\"hi\"").as_string(), "hi");
  Json i = ParseOk("-42");
  ASSERT_TRUE(i.is_integer());
  EXPECT_EQ(i.as_int64(), -42);
  Json d = ParseOk("2.5e-3");
  EXPECT_TRUE(d.is_number());
  EXPECT_FALSE(d.is_integer());
  EXPECT_DOUBLE_EQ(d.as_double(), 0.0025);
  EXPECT_FALSE(ParseOk("1.0").is_integer());
  EXPECT_EQ(ParseOk("0").as_int64(), 0);
  EXPECT_DOUBLE_EQ(ParseOk("-0.5E+2").as_double(), -50.0);
}

TEST(JsonTest, IntegersAreExact) {
  // 2^53 + 1 is not representable as a double.
  Json v = ParseOk("9007199254740993");
  ASSERT_TRUE(v.is_integer());
  EXPECT_EQ(v.as_int64(), 9007199254740993LL);
  EXPECT_EQ(v.Dump(), "9007199254740993");
  EXPECT_EQ(ParseOk("-9223372036854775808").as_int64(), INT64_MIN);
  EXPECT_EQ(ParseOk("9223372036854775807").as_int64(), INT64_MAX);
  // Beyond int64: a double.
  Json big = ParseOk("9223372036854775808");
  EXPECT_FALSE(big.is_integer());
  EXPECT_DOUBLE_EQ(big.as_double(), 9223372036854775808.0);
}

TEST(JsonTest, ObjectKeepsKeyOrder) {
  Json o = ParseOk(R"({"z": 1, "a": [true, null], "m": {"x": "y"}})");
  ASSERT_TRUE(o.is_object());
  ASSERT_EQ(o.size(), 3u);
  EXPECT_EQ(o.as_object()[0].first, "z");
  EXPECT_EQ(o.as_object()[1].first, "a");
  EXPECT_EQ(o.as_object()[2].first, "m");
  EXPECT_EQ(o.Find("m")->Find("x")->as_string(), "y");
  EXPECT_EQ(o.Find("nope"), nullptr);
  EXPECT_EQ(o.Dump(), R"({"z":1,"a":[true,null],"m":{"x":"y"}})");
}

TEST(JsonTest, UnicodeEscapes) {
  EXPECT_EQ(ParseOk(R"("\u0041\u00e9\u20ac")").as_string(), "A\xC3\xA9\xE2\x82\xAC");
  // U+1F600 as a surrogate pair.
  EXPECT_EQ(ParseOk(R"("\ud83d\ude00")").as_string(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(ParseOk(R"("\uD83D\uDE00")").as_string(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(ParseOk(R"("a\"b\\c\/d\b\f\n\r\t")").as_string(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(ParseOk(R"("\u0000")").as_string(), std::string(1, '\0'));
  // Raw UTF-8 passes through.
  EXPECT_EQ(ParseOk("\"\xC4\xA0x\"").as_string(), "\xC4\xA0x");
}

TEST(JsonTest, ErrorsNameLineAndColumn) {
  EXPECT_EQ(ParseError("{\"a\": 1,\n  \"b\" 2}"), "JSON line 2, column 7: expected ':' after object key");
  EXPECT_EQ(ParseError("[1, 2,]"), "JSON line 1, column 7: unexpected ']', expected a value");
  EXPECT_EQ(ParseError("{\"a\":1,}"), "JSON line 1, column 8: unexpected '}', expected a string key");
  EXPECT_EQ(ParseError(""), "JSON line 1, column 1: unexpected end of input, expected a value");
  EXPECT_EQ(ParseError("[1] x"), "JSON line 1, column 5: unexpected content after the JSON value");
  EXPECT_EQ(ParseError("012"), "JSON line 1, column 1: invalid number: leading zero");
  EXPECT_EQ(ParseError("1."), "JSON line 1, column 3: invalid number: expected a digit after '.'");
  EXPECT_EQ(ParseError("-"), "JSON line 1, column 2: invalid number: expected a digit");
  EXPECT_EQ(ParseError("1e999"), "JSON line 1, column 1: number out of range: 1e999");
  EXPECT_EQ(ParseError("tru"), "JSON line 1, column 1: invalid literal, expected 'true'");
  EXPECT_EQ(ParseError("NaN"), "JSON line 1, column 1: unexpected 'N', expected a value");
  EXPECT_EQ(ParseError("\"abc"), "JSON line 1, column 1: unterminated string");
  EXPECT_EQ(ParseError("\"a\tb\""), "JSON line 1, column 3: unescaped control character byte 0x09 in string");
  EXPECT_EQ(ParseError(R"("\x")"), "JSON line 1, column 2: invalid escape '\\x'");
  EXPECT_EQ(ParseError(R"("\u12G4")"), "JSON line 1, column 6: invalid hex digit 'G' in \\u escape");
  EXPECT_EQ(ParseError(R"("\ud83d")"),
            "JSON line 1, column 2: high surrogate not followed by a low surrogate \\u escape");
  EXPECT_EQ(ParseError(R"("\ud83d\u0041")"),
            "JSON line 1, column 8: high surrogate not followed by a low surrogate \\u escape");
  EXPECT_EQ(ParseError(R"("\ude00")"), "JSON line 1, column 2: lone low surrogate in \\u escape");
  EXPECT_EQ(ParseError("\"\xFF\""), "JSON line 1, column 2: invalid UTF-8 in string");
  EXPECT_EQ(ParseError("\"\xC0\x80\""), "JSON line 1, column 2: invalid UTF-8 in string");      // overlong
  EXPECT_EQ(ParseError("\"\xED\xA0\x80\""), "JSON line 1, column 2: invalid UTF-8 in string");  // surrogate
  EXPECT_EQ(ParseError("{\"k\":1,\"k\":2}"), "JSON line 1, column 8: duplicate key \"k\"");
  EXPECT_EQ(ParseError("[1 2]"), "JSON line 1, column 4: unexpected '2' in array, expected ',' or ']'");
  EXPECT_EQ(ParseError("// c\n1"), "JSON line 1, column 1: unexpected '/', expected a value");
}

TEST(JsonTest, DepthIsLimited) {
  std::string ok(512, '[');
  ok += std::string(512, ']');
  EXPECT_TRUE(ParseJson(ok).ok());
  std::string deep(100000, '[');
  EXPECT_EQ(ParseError(deep), "JSON line 1, column 514: nesting deeper than 512 levels");
}

TEST(JsonTest, DumpCompactAndIndented) {
  Json o = Json::MakeObject();
  o.Set("name", "clip");
  o.Set("dims", Json(Json::Array{1, 2, 3}));
  o.Set("empty", Json::MakeArray());
  o.Set("eo", Json::MakeObject());
  o.Set("f", 0.1);
  o.Set("name", "CLIP");  // replaces, keeps position
  EXPECT_EQ(o.Dump(), R"({"name":"CLIP","dims":[1,2,3],"empty":[],"eo":{},"f":0.1})");
  EXPECT_EQ(o.Dump(2),
            "{\n"
            "  \"name\": \"CLIP\",\n"
            "  \"dims\": [\n"
            "    1,\n"
            "    2,\n"
            "    3\n"
            "  ],\n"
            "  \"empty\": [],\n"
            "  \"eo\": {},\n"
            "  \"f\": 0.1\n"
            "}");
}

TEST(JsonTest, DumpEscapesAndNumbers) {
  EXPECT_EQ(Json("a\"b\\c\n\x01\x7f\xC3\xA9").Dump(), R"("a\"b\\c\n\u0001\u007f)"
                                                      "\xC3\xA9\"");
  EXPECT_EQ(Json(1e300).Dump(), "1e+300");
  EXPECT_EQ(Json(-0.25).Dump(), "-0.25");
  EXPECT_EQ(Json(2.0).Dump(), "2");
  EXPECT_EQ(Json(0.1 + 0.2).Dump(), "0.30000000000000004");
  EXPECT_EQ(Json(std::nan("")).Dump(), "null");
  EXPECT_EQ(Json(size_t{123}).Dump(), "123");
  EXPECT_EQ(Json(int64_t{-7}).Dump(), "-7");
  EXPECT_EQ(Json().Dump(), "null");
  EXPECT_EQ(Json(false).Dump(), "false");
}

TEST(JsonTest, RoundTrip) {
  const char* doc = R"({"a":[1,-2.5,"\u00e9\ud83d\ude00",{"b":null,"c":[]}],"d":true,"e":1e-07})";
  Json v = ParseOk(doc);
  Json again = ParseOk(v.Dump());
  EXPECT_EQ(v, again);
  Json again2 = ParseOk(v.Dump(4));
  EXPECT_EQ(v, again2);
  EXPECT_EQ(v.Dump(), again.Dump());
  EXPECT_DOUBLE_EQ(v.Find("e")->as_double(), 1e-7);
}

TEST(JsonTest, EqualityComparesNumbersByValue) {
  EXPECT_EQ(Json(1), Json(1.0));
  EXPECT_NE(Json(1), Json(2));
  EXPECT_NE(Json("1"), Json(1));
  EXPECT_NE(ParseOk("[1,2]"), ParseOk("[2,1]"));
  EXPECT_NE(ParseOk(R"({"a":1,"b":2})"), ParseOk(R"({"b":2,"a":1})"));  // order matters
}

TEST(JsonTest, LargeObjectParsesQuickly) {
  std::string doc = "{";
  for (int i = 0; i < 50000; ++i) {
    if (i) doc += ",";
    doc += "\"tok" + std::to_string(i) + "\":" + std::to_string(i);
  }
  doc += "}";
  Json v = ParseOk(doc);
  ASSERT_EQ(v.size(), 50000u);
  EXPECT_EQ(v.as_object()[49999].second.as_int64(), 49999);
}

}  // namespace
}  // namespace flyp
