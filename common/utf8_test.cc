#include "common/utf8.h"

#include <gtest/gtest.h>

namespace flyp {
namespace {

TEST(Utf8Test, WellFormedText) {
  EXPECT_EQ(FirstInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("plain ascii\n"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::nullopt);  // é € 😀
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x8F\xBF\xBF"), std::nullopt);                           // U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82\xAC", 0), 3u);
}

TEST(Utf8Test, FindsTheFirstMalformedByte) {
  EXPECT_EQ(FirstInvalidUtf8("ab\xFF"), 2u);                 // never valid
  EXPECT_EQ(FirstInvalidUtf8("a\x80"), 1u);                  // stray continuation
  EXPECT_EQ(FirstInvalidUtf8("\xC0\x80"), 0u);               // overlong NUL
  EXPECT_EQ(FirstInvalidUtf8("x\xE0\x80\x80"), 1u);          // overlong 3-byte
  EXPECT_EQ(FirstInvalidUtf8("\xED\xA0\x80"), 0u);           // surrogate U+D800
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);       // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("ok\xE2\x82"), 2u);             // truncated at the end
  EXPECT_EQ(FirstInvalidUtf8("\xC3\xA9\xC3(\xC3\xA9"), 2u);  // bad continuation
}

TEST(Utf8Test, CheckNamesOffsetLineAndColumn) {
  EXPECT_TRUE(CheckUtf8("name: x\n", "spec").ok());
  Status s = CheckUtf8("name: a\noptim:\n  x: \xFF\n", "spec");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "spec: invalid UTF-8 at byte 20 (line 3, column 6): 0xFF");
}

}  // namespace
}  // namespace flyp
