#include "worker/text/text_cleanup.h"

#include <gtest/gtest.h>

#include "worker/text/byte_encoder.h"
#include "worker/text/unicode.h"

namespace flyp::text {
namespace {

std::vector<std::string> Split(std::string_view cleaned) {
  std::vector<std::string> out;
  for (auto v : PreTokenize(cleaned)) {
    out.emplace_back(v);
  }
  return out;
}

TEST(Unicode, Classes) {
  EXPECT_TRUE(IsLetter('a'));
  EXPECT_TRUE(IsLetter(0xE9));     // é
  EXPECT_TRUE(IsLetter(0x416));    // Ж
  EXPECT_TRUE(IsLetter(0x3A9));    // Ω
  EXPECT_TRUE(IsLetter(0x5D0));    // א
  EXPECT_TRUE(IsLetter(0x628));    // ب
  EXPECT_TRUE(IsLetter(0x915));    // क
  EXPECT_TRUE(IsLetter(0x6771));   // 東
  EXPECT_TRUE(IsLetter(0x30BF));   // タ
  EXPECT_TRUE(IsLetter(0xAC00));   // 가
  EXPECT_TRUE(IsLetter(0x20000));  // CJK extension B
  EXPECT_FALSE(IsLetter('1'));
  EXPECT_FALSE(IsLetter(0x94D));  // virama: a mark, not a letter
  EXPECT_FALSE(IsLetter(0x1F600));
  EXPECT_TRUE(IsNumber('7'));
  EXPECT_TRUE(IsNumber(0xB2));     // ²
  EXPECT_TRUE(IsNumber(0xBD));     // ½
  EXPECT_TRUE(IsNumber(0x663));    // Arabic-Indic 3
  EXPECT_TRUE(IsNumber(0x2166));   // Roman numeral seven
  EXPECT_FALSE(IsNumber(0x4E00));  // 一 is a letter
  EXPECT_TRUE(IsSpace(' '));
  EXPECT_TRUE(IsSpace(0xA0));
  EXPECT_TRUE(IsSpace(0x3000));
  EXPECT_FALSE(IsSpace(0x200B));  // zero width space is not whitespace
}

TEST(Unicode, Lowercase) {
  EXPECT_EQ(LowerUtf8("ÀÉÎÕÜ ÆØ ĀĞŁ ŸŽ"), "àéîõü æø āğł ÿž");
  EXPECT_EQ(LowerUtf8("ΑΒΓ ΟΔΟΣ Σ"), "αβγ οδος σ");  // final sigma
  EXPECT_EQ(LowerUtf8("МОСКВА ЁЖ"), "москва ёж");
  EXPECT_EQ(LowerUtf8("İ"), "i\xCC\x87");
  EXPECT_EQ(LowerUtf8("ß ẞ"), "ß ß");
  EXPECT_EQ(LowerUtf8("ＡＢ"), "ａｂ");
}

TEST(Unicode, Utf8Repair) {
  EXPECT_EQ(RepairUtf8("ok é"), "ok é");
  EXPECT_EQ(RepairUtf8("a\xC3"), "a\xEF\xBF\xBD");
  EXPECT_EQ(RepairUtf8("\xE2\x82x"), "\xEF\xBF\xBDx");                            // one maximal subpart
  EXPECT_EQ(RepairUtf8("\xFF\xFE"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // two invalid bytes
  EXPECT_EQ(RepairUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(ByteEncoder, MapIsCLIPs) {
  EXPECT_EQ(ByteToUnicode('!'), U'!');
  EXPECT_EQ(ByteToUnicode(' '), 0x120u);  // "Ġ"
  EXPECT_EQ(ByteToUnicode(0), 0x100u);
  EXPECT_EQ(ByteToUnicode(0xAD), 0x143u);  // the last unprintable byte
  EXPECT_EQ(ByteVocabIndex('!'), 0);
  EXPECT_EQ(ByteVocabIndex('a'), 64);
  EXPECT_EQ(ByteVocabIndex(0), 188);
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(UnicodeToByte(ByteToUnicode(static_cast<uint8_t>(b))), b);
    EXPECT_EQ(BytesInVocabOrder()[ByteVocabIndex(static_cast<uint8_t>(b))], b);
  }
  const std::string all = [] {
    std::string s;
    for (int b = 0; b < 256; ++b) {
      s.push_back(static_cast<char>(b));
    }
    return s;
  }();
  EXPECT_EQ(SymbolsToBytes(BytesToSymbols(all)), all);
}

TEST(Cleanup, HtmlAndWhitespace) {
  EXPECT_EQ(HtmlUnescape("a &amp; b &lt;c&gt; &quot;d&quot; it&#39;s &#x41;&#66; &apos;"),
            "a & b <c> \"d\" it's AB '");
  EXPECT_EQ(HtmlUnescape("&amp;amp;"), "&amp;");
  EXPECT_EQ(HtmlUnescape("&ampx &unknown; & &#; &#150;"), "&x &unknown; & &#; \xE2\x80\x93");
  EXPECT_EQ(CollapseWhitespace("  a \t\n b\xC2\xA0\xE3\x80\x80"
                               "c  "),
            "a b c");
  EXPECT_EQ(CleanText("  Hello &amp;amp;   WORLD\n"), "hello & world");
  EXPECT_EQ(CleanText(""), "");
}

TEST(Cleanup, PreTokenize) {
  EXPECT_EQ(Split("don't stop-believing 1999's"),
            (std::vector<std::string>{"don", "'t", "stop", "-", "believing", "1", "9", "9", "9", "'s"}));
  EXPECT_EQ(Split("x<|endoftext|>y !<|endoftext|>"),
            (std::vector<std::string>{"x", "<|endoftext|>", "y", "!<|", "endoftext", "|>"}));
  EXPECT_EQ(Split("''s we'll 'x"), (std::vector<std::string>{"''", "s", "we", "'ll", "'", "x"}));
  EXPECT_EQ(Split("naïve 東京タワー ١٢"), (std::vector<std::string>{"naïve", "東京タワー", "١", "٢"}));
  EXPECT_EQ(Split("नमस्ते"), (std::vector<std::string>{"नमस", "्", "त", "े"}));  // marks split
  EXPECT_EQ(Split("...?! {}"), (std::vector<std::string>{"...?!", "{}"}));
  EXPECT_TRUE(Split("   ").empty());
}

}  // namespace
}  // namespace flyp::text
