// CLIP's text normalisation and pre-tokenisation, as in OpenAI CLIP's
// simple_tokenizer: html.unescape twice, collapse whitespace runs to one
// space, strip, lowercase; then split with
//   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// ftfy.fix_text (mojibake repair) is not reproduced.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flyp::text {

// Python's html.unescape for numeric references (&#39; &#x27; with the HTML5
// fix-ups) and common named entities (&amp; &lt; &gt; &quot; &apos; &nbsp;
// and a few typographic ones). Unknown entities are left as they are.
std::string HtmlUnescape(std::string_view text);

// Replaces every run of whitespace (IsSpace) with one ' ' and strips both ends.
std::string CollapseWhitespace(std::string_view text);

// The full cleanup: lower(collapse(strip(unescape(unescape(text))))).
// Malformed UTF-8 becomes U+FFFD.
std::string CleanText(std::string_view text);

// Splits already-cleaned text into pre-tokens (views into `cleaned`, in
// order). Whitespace is dropped.
std::vector<std::string_view> PreTokenize(std::string_view cleaned);

}  // namespace flyp::text
