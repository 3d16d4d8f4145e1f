#include "worker/text/vocab_files.h"

#include <cassert>
#include <cmath>

#include "common/confine.h"
#include "common/file_util.h"
#include "common/json.h"
#include "worker/text/byte_encoder.h"

namespace flyp::text {
namespace {

bool IsSpaceByte(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

StatusOr<std::vector<BpeModel::Merge>> ParseMerges(const std::string& content, const std::string& path) {
  if (content.empty()) {
    return InvalidArgumentError(path + ": vocabulary file is empty");
  }
  // CLIP's own file starts '"bpe_simple_vocab_16e6.txt#version: 0.2'; the
  // reference skips line 1 whatever it holds. Requiring "#version" in it
  // catches a file of the wrong kind without losing its first merge.
  const std::string_view first_line(content.data(), std::min(content.find('\n'), content.size()));
  if (first_line.find("#version") == std::string_view::npos) {
    return InvalidArgumentError(path + ":1: expected a '#version' header line, got '" +
                                std::string(first_line.substr(0, 40)) + "'");
  }
  std::vector<BpeModel::Merge> merges;
  size_t pos = content.find('\n');
  int line_no = 1;
  int first_empty = 0;  // line of a pending empty line
  while (pos != std::string::npos && pos + 1 <= content.size() &&
         static_cast<int>(merges.size()) < kMaxClipMerges) {
    const size_t start = pos + 1;
    pos = content.find('\n', start);
    std::string_view line(content.data() + start, (pos == std::string::npos ? content.size() : pos) - start);
    ++line_no;
    // Split on whitespace (Python's str.split()).
    std::vector<std::string_view> parts;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && IsSpaceByte(line[i])) {
        ++i;
      }
      const size_t b = i;
      while (i < line.size() && !IsSpaceByte(line[i])) {
        ++i;
      }
      if (i > b) {
        parts.push_back(line.substr(b, i - b));
      }
    }
    if (parts.empty()) {
      if (first_empty == 0) {
        first_empty = line_no;
      }
      continue;
    }
    if (first_empty != 0) {
      return InvalidArgumentError(path + ":" + std::to_string(first_empty) + ": empty line among the merges");
    }
    if (parts.size() != 2) {
      return InvalidArgumentError(path + ":" + std::to_string(line_no) +
                                  ": a merge line needs exactly two tokens, got '" + std::string(line) + "'");
    }
    merges.push_back({std::string(parts[0]), std::string(parts[1]), line_no});
  }
  return merges;
}

std::vector<std::string> ClipVocabTokens(const std::vector<BpeModel::Merge>& merges) {
  std::vector<std::string> tokens;
  tokens.reserve(512 + merges.size() + 2);
  for (uint8_t b : BytesInVocabOrder()) {
    tokens.push_back(ByteSymbol(b));
  }
  for (uint8_t b : BytesInVocabOrder()) {
    tokens.push_back(ByteSymbol(b) + std::string(kEndOfWord));
  }
  for (const auto& m : merges) {
    tokens.push_back(m.left + m.right);
  }
  tokens.emplace_back(kStartOfText);
  tokens.emplace_back(kEndOfText);
  return tokens;
}

StatusOr<BpeModel> LoadClipVocab(const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(std::string content, ReadMaybeGzipInputFile(path, kMaxVocabFileBytes));
  FLYP_ASSIGN_OR_RETURN(auto merges, ParseMerges(content, path));
  return BpeModel::Build(ClipVocabTokens(merges), merges, path, path);
}

StatusOr<BpeModel> LoadHfVocab(const std::string& vocab_json_path, const std::string& merges_path) {
  FLYP_ASSIGN_OR_RETURN(std::string json_text, ReadMaybeGzipInputFile(vocab_json_path, kMaxVocabFileBytes));
  auto parsed = ParseJson(json_text);
  if (!parsed.ok()) return parsed.status().WithContext(vocab_json_path);
  const Json& json = *parsed;
  if (!json.is_object() || json.size() == 0) {
    return InvalidArgumentError(vocab_json_path + ": expected a non-empty JSON object token -> id");
  }
  constexpr double kMaxId = 1 << 24;
  std::vector<std::string> tokens;
  for (const auto& [token, id] : json.as_object()) {
    if (!id.is_integer() || id.as_int64() < 0 || id.as_int64() >= kMaxId) {
      return InvalidArgumentError(vocab_json_path + ": token '" + token +
                                  "' needs a non-negative integer id below 2^24");
    }
    if (token.empty()) {
      return InvalidArgumentError(vocab_json_path + ": empty token text");
    }
    const auto i = static_cast<size_t>(id.as_int64());
    if (i >= tokens.size()) {
      tokens.resize(i + 1);
    }
    if (!tokens[i].empty() && tokens[i] != token) {
      return InvalidArgumentError(vocab_json_path + ": id " + std::to_string(i) + " is given to both '" +
                                  tokens[i] + "' and '" + token + "'");
    }
    tokens[i] = token;
  }
  FLYP_ASSIGN_OR_RETURN(std::string merges_text, ReadMaybeGzipInputFile(merges_path, kMaxVocabFileBytes));
  FLYP_ASSIGN_OR_RETURN(auto merges, ParseMerges(merges_text, merges_path));
  return BpeModel::Build(std::move(tokens), merges, vocab_json_path, merges_path);
}

BpeModel ByteLevelModel() {
  auto model = BpeModel::Build(ClipVocabTokens({}), {}, "byte", "byte");
  assert(model.ok());
  return std::move(model).value();
}

}  // namespace flyp::text
