#include <gtest/gtest.h>

#include "tests/testing/test_env.h"
#include "worker/text/tokenizer.h"

// Beyond tokenizer_cases.json (ASCII only): ids for non-ASCII scripts,
// case folding, HTML entities, Unicode spaces, special-token text and
// contractions. Expected ids were computed offline with the reference
// algorithm (simple_tokenizer's merges, bytes_to_unicode and BPE, Python's
// html.unescape and str.lower, and the pre-tokenisation regex evaluated with
// unicodedata general categories) on the shared CLIP vocabulary.

namespace flyp::text {
namespace {

struct Case {
  const char* text;
  std::vector<int32_t> ids;
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"a photo of a cat", {320, 1125, 539, 320, 2368}},
      {"café crème brûlée", {15304, 1075, 12138, 614, 711, 127, 119, 75, 13489}},
      {"Москва ПРИВЕТ мир",
       {38018, 13506, 23669, 27152, 39813, 27080, 26302, 16370, 29503, 110, 22176, 141, 480, 38018, 16701,
        141, 478}},
      {"東京タワーの写真", {48338, 21078, 105, 34941, 2429, 107, 13457, 21575, 44653, 33440, 509}},
      {"ΟΔΟΣ ελληνικά Σ", {138, 123, 138, 112, 138, 123, 139, 480, 138, 113, 138, 119, 138,
                           119, 138, 115, 138, 121, 138, 117, 138, 118, 138, 361, 139, 481}},
      {"עברית שלום",
       {147, 95, 147, 239, 147, 101, 147, 247, 147, 359, 147, 102, 147, 250, 147, 243, 147, 507}},
      {"नमस्ते दुनिया",
       {3124, 101, 48254, 28505, 19389, 27263, 25130, 29552, 39653, 26090, 26721, 37299, 13343}},
      {"naïve 😀 emoji 🐶🐱", {1097, 35689, 563, 7334, 16327, 14466, 22979}},
      {"١٢٣ arabic digits ٤٥", {149, 350, 149, 351, 149, 352, 16709, 31710, 149, 353, 149, 354}},
      {"İstanbul ß ẞ Ǆ", {328, 16384, 11231, 127, 509, 127, 509, 131, 484}},
      {"²³ ½ Ⅻ ①", {41175, 126, 367, 33613, 158, 227, 375, 158, 239, 510}},
      {"it&#39;s &quot;quoted&quot; &lt;b&gt; &amp;amp; &#x263A;",
       {585, 568, 257, 27706, 257, 283, 321, 285, 261, 8703}},
      {"Hello\u00a0world\u3000wide\u2028sep", {3306, 1002, 3184, 10434}},
      {"x<|endoftext|>y !<|endoftext|>", {343, 49407, 344, 0, 27, 347, 40786, 4160, 91, 285}},
      {"''s rock'n'roll you'LL we'VE", {8445, 338, 2172, 262, 333, 262, 3341, 592, 1342, 649, 1200}},
      {"ﬁ ligature Ｆｕｌｌｗｉｄｔｈ",
       {171, 105, 479, 19915, 4490, 171, 121, 228, 171, 121, 243, 171, 121, 234, 171, 121,
        234, 171, 121, 245,   171,  121, 231, 171, 121, 226, 171, 121, 242, 171, 121, 486}},
  };
  return cases;
}

TEST(ClipTokenizerUnicode, MatchesReferenceIds) {
  auto tok = Tokenizer::Load(flyp::testing::SharedDataDir() + "/clip/bpe_simple_vocab_16e6.txt.gz");
  ASSERT_TRUE(tok.ok()) << tok.status();
  for (const Case& c : Cases()) {
    EXPECT_EQ(tok->Encode(c.text), c.ids) << "text: " << c.text;
  }
}

}  // namespace
}  // namespace flyp::text
