#include "worker/text/json_lite.h"

#include <cstdlib>

#include "worker/text/unicode.h"

namespace flyp::text {
namespace {

constexpr int kMaxDepth = 512;

class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

  StatusOr<JsonValue> ParseDocument() {
    JsonValue v;
    FLYP_RETURN_IF_ERROR(ParseValue(&v, 0));
    SkipSpace();
    if (pos_ != s_.size()) {
      return Error("trailing characters after the JSON value");
    }
    return v;
  }

 private:
  Status Error(const std::string& what) const {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return InvalidArgumentError(source_ + ":" + std::to_string(line) + ":" + std::to_string(col) +
                                ": invalid JSON: " + what);
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      return false;
    }
    pos_ += word.size();
    return true;
  }

  Status ParseValue(JsonValue* v, int depth) {
    if (depth > kMaxDepth) {
      return Error("nesting too deep");
    }
    SkipSpace();
    if (pos_ >= s_.size()) {
      return Error("unexpected end of input, expected a value");
    }
    const char c = s_[pos_];
    if (c == '{') {
      return ParseObject(v, depth);
    }
    if (c == '[') {
      return ParseArray(v, depth);
    }
    if (c == '"') {
      v->type = JsonValue::Type::kString;
      return ParseString(&v->string);
    }
    if (Consume("true")) {
      v->type = JsonValue::Type::kBool;
      v->boolean = true;
      return Status::Ok();
    }
    if (Consume("false")) {
      v->type = JsonValue::Type::kBool;
      return Status::Ok();
    }
    if (Consume("null")) {
      return Status::Ok();
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      return ParseNumber(v);
    }
    return Error(std::string("unexpected character '") + c + "'");
  }

  Status ParseObject(JsonValue* v, int depth) {
    v->type = JsonValue::Type::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (Consume("}")) {
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        return Error("expected a string key");
      }
      std::pair<std::string, JsonValue> member;
      FLYP_RETURN_IF_ERROR(ParseString(&member.first));
      SkipSpace();
      if (!Consume(":")) {
        return Error("expected ':'");
      }
      FLYP_RETURN_IF_ERROR(ParseValue(&member.second, depth + 1));
      v->object.push_back(std::move(member));
      SkipSpace();
      if (Consume("}")) {
        return Status::Ok();
      }
      if (!Consume(",")) {
        return Error("expected ',' or '}'");
      }
    }
  }

  Status ParseArray(JsonValue* v, int depth) {
    v->type = JsonValue::Type::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (Consume("]")) {
      return Status::Ok();
    }
    while (true) {
      v->array.emplace_back();
      FLYP_RETURN_IF_ERROR(ParseValue(&v->array.back(), depth + 1));
      SkipSpace();
      if (Consume("]")) {
        return Status::Ok();
      }
      if (!Consume(",")) {
        return Error("expected ',' or ']'");
      }
    }
  }

  Status ParseHex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) {
      return Error("truncated \\u escape");
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
        v |= (c | 0x20) - 'a' + 10;
      } else {
        return Error("bad hex digit in \\u escape");
      }
    }
    *out = v;
    return Status::Ok();
  }

  Status ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) {
        return Error("unterminated string");
      }
      const char c = s_[pos_++];
      if (c == '"') {
        return Status::Ok();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("control character in string");
      }
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) {
        return Error("unterminated escape");
      }
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          FLYP_RETURN_IF_ERROR(ParseHex4(&cp));
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            const size_t save = pos_;
            pos_ += 2;
            uint32_t low;
            FLYP_RETURN_IF_ERROR(ParseHex4(&low));
            if (low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos_ = save;
            }
          }
          // A lone surrogate cannot be UTF-8: store U+FFFD.
          AppendUtf8(cp >= 0xD800 && cp <= 0xDFFF ? kReplacementChar : cp, out);
          break;
        }
        default:
          return Error(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  Status ParseNumber(JsonValue* v) {
    const size_t start = pos_;
    if (s_[pos_] == '-') {
      ++pos_;
    }
    auto digits = [&] {
      const size_t b = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        ++pos_;
      }
      return pos_ > b;
    };
    if (!digits()) {
      return Error("bad number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) {
        return Error("bad number");
      }
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
        ++pos_;
      }
      if (!digits()) {
        return Error("bad number");
      }
    }
    v->type = JsonValue::Type::kNumber;
    v->number = std::strtod(std::string(s_.substr(start, pos_ - start)).c_str(), nullptr);
    return Status::Ok();
  }

  std::string_view s_;
  const std::string& source_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (auto it = object.rbegin(); it != object.rend(); ++it) {
    if (it->first == key) {
      return &it->second;
    }
  }
  return nullptr;
}

StatusOr<JsonValue> ParseJson(std::string_view text, const std::string& source) {
  return Parser(text, source).ParseDocument();
}

}  // namespace flyp::text
