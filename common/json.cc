#include "common/json.h"

#include <cassert>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "common/numbers.h"
#include "common/utf8.h"

namespace flyp {

// ------------------------------------------------------------- accessors ---

bool Json::as_bool() const {
  assert(is_bool());
  return bool_;
}
double Json::as_double() const {
  assert(is_number());
  return num_;
}
int64_t Json::as_int64() const {
  assert(is_integer());
  return int_;
}
const std::string& Json::as_string() const {
  assert(is_string());
  return str_;
}
const Json::Array& Json::as_array() const {
  assert(is_array());
  return arr_;
}
Json::Array& Json::as_array() {
  assert(is_array());
  return arr_;
}
const Json::Object& Json::as_object() const {
  assert(is_object());
  return obj_;
}
Json::Object& Json::as_object() {
  assert(is_object());
  return obj_;
}

size_t Json::size() const {
  if (is_array()) return arr_.size();
  if (is_object()) return obj_.size();
  return 0;
}

const Json* Json::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& kv : obj_) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

Json* Json::Find(std::string_view key) {
  return const_cast<Json*>(static_cast<const Json*>(this)->Find(key));
}

Json& Json::Set(std::string key, Json value) {
  if (is_null()) type_ = Type::kObject;
  assert(is_object());
  if (Json* existing = Find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  obj_.emplace_back(std::move(key), std::move(value));
  return obj_.back().second;
}

Json& Json::Append(Json value) {
  if (is_null()) type_ = Type::kArray;
  assert(is_array());
  arr_.push_back(std::move(value));
  return arr_.back();
}

bool Json::operator==(const Json& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return bool_ == o.bool_;
    case Type::kNumber:
      if (has_int_ && o.has_int_) return int_ == o.int_;
      return num_ == o.num_;
    case Type::kString:
      return str_ == o.str_;
    case Type::kArray:
      return arr_ == o.arr_;
    case Type::kObject:
      return obj_ == o.obj_;
  }
  return false;
}

// ------------------------------------------------------------ serialiser ---

namespace {

void DumpString(std::string& out, const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void NewLine(std::string& out, int indent, int depth) {
  out.push_back('\n');
  out.append(static_cast<size_t>(indent) * depth, ' ');
}

}  // namespace

void Json::DumpTo(std::string& out, int indent, int depth) const {
  char buf[64];
  switch (type_) {
    case Type::kNull:
      out += "null";
      return;
    case Type::kBool:
      out += bool_ ? "true" : "false";
      return;
    case Type::kNumber: {
      if (has_int_) {
        auto r = std::to_chars(buf, buf + sizeof buf, int_);
        out.append(buf, r.ptr);
      } else if (!std::isfinite(num_)) {
        out += "null";
      } else {
        auto r = std::to_chars(buf, buf + sizeof buf, num_);
        out.append(buf, r.ptr);
      }
      return;
    }
    case Type::kString:
      DumpString(out, str_);
      return;
    case Type::kArray:
      out.push_back('[');
      for (size_t i = 0; i < arr_.size(); ++i) {
        if (i) out.push_back(',');
        if (indent >= 0) NewLine(out, indent, depth + 1);
        arr_[i].DumpTo(out, indent, depth + 1);
      }
      if (indent >= 0 && !arr_.empty()) NewLine(out, indent, depth);
      out.push_back(']');
      return;
    case Type::kObject:
      out.push_back('{');
      for (size_t i = 0; i < obj_.size(); ++i) {
        if (i) out.push_back(',');
        if (indent >= 0) NewLine(out, indent, depth + 1);
        DumpString(out, obj_[i].first);
        out += indent >= 0 ? ": " : ":";
        obj_[i].second.DumpTo(out, indent, depth + 1);
      }
      if (indent >= 0 && !obj_.empty()) NewLine(out, indent, depth);
      out.push_back('}');
      return;
  }
}

std::string Json::Dump(int indent) const {
  std::string out;
  DumpTo(out, indent, 0);
  return out;
}

// ---------------------------------------------------------------- parser ---

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  StatusOr<Json> ParseDocument() {
    SkipSpace();
    Json v;
    FLYP_RETURN_IF_ERROR(ParseValue(v, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error(pos_, "unexpected content after the JSON value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 512;

  Status Error(size_t at, const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return InvalidArgumentError("JSON line " + std::to_string(line) + ", column " + std::to_string(col) +
                                ": " + what);
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  static std::string Describe(char c) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned char>(c));
      return std::string("byte ") + buf;
    }
    return std::string("'") + c + "'";
  }

  Status ParseValue(Json& out, int depth) {
    if (depth > kMaxDepth) return Error(pos_, "nesting deeper than 512 levels");
    if (pos_ >= s_.size()) return Error(pos_, "unexpected end of input, expected a value");
    char c = s_[pos_];
    switch (c) {
      case '{':
        return ParseObject(out, depth);
      case '[':
        return ParseArray(out, depth);
      case '"': {
        out = Json(std::string());
        return ParseString(out.str_);
      }
      case 't':
        return ParseLiteral("true", Json(true), out);
      case 'f':
        return ParseLiteral("false", Json(false), out);
      case 'n':
        return ParseLiteral("null", Json(), out);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        return Error(pos_, "unexpected " + Describe(c) + ", expected a value");
    }
  }

  Status ParseLiteral(std::string_view word, Json value, Json& out) {
    if (s_.substr(pos_, word.size()) != word) {
      return Error(pos_, "invalid literal, expected '" + std::string(word) + "'");
    }
    pos_ += word.size();
    out = std::move(value);
    return Status::Ok();
  }

  Status ParseNumber(Json& out) {
    const size_t start = pos_;
    bool integral = true;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[pos_]))) {
      return Error(pos_, "invalid number: expected a digit");
    }
    if (s_[pos_] == '0') {
      ++pos_;
      if (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) {
        return Error(start, "invalid number: leading zero");
      }
    } else {
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (pos_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[pos_]))) {
        return Error(pos_, "invalid number: expected a digit after '.'");
      }
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[pos_]))) {
        return Error(pos_, "invalid number: expected a digit in the exponent");
      }
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    // The grammar is checked above, so a failure here is a magnitude that
    // does not fit: an integer beyond int64 becomes a double, a double
    // beyond its range is an error (underflow rounds to zero).
    const std::string_view text(b, static_cast<size_t>(e - b));
    if (integral) {
      if (StatusOr<int64_t> iv = ParseInt64(text, ""); iv.ok()) {
        out = Json(Json::IntTag{}, *iv);
        return Status::Ok();
      }
    }
    StatusOr<double> dv = ParseDouble(text, "");
    if (!dv.ok()) return Error(start, "number out of range: " + std::string(text));
    out = Json(*dv);
    return Status::Ok();
  }

  Status ParseHex4(size_t at, uint32_t& cp) {
    if (at + 4 > s_.size()) return Error(at, "truncated \\u escape");
    cp = 0;
    for (size_t i = 0; i < 4; ++i) {
      char c = s_[at + i];
      cp <<= 4;
      if (c >= '0' && c <= '9')
        cp |= c - '0';
      else if (c >= 'a' && c <= 'f')
        cp |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        cp |= c - 'A' + 10;
      else
        return Error(at + i, "invalid hex digit " + Describe(c) + " in \\u escape");
    }
    return Status::Ok();
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Validates one raw UTF-8 sequence starting at pos_ (first byte >= 0x80)
  // and copies it to `out`.
  Status CopyUtf8(std::string& out) {
    const size_t n = Utf8SequenceLength(s_, pos_);
    if (n == 0) {
      // Say "truncated" when the sequence runs into the end of the text.
      const auto b0 = static_cast<unsigned char>(s_[pos_]);
      const size_t want = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
      const bool truncated = b0 >= 0xC2 && b0 <= 0xF4 && pos_ + want > s_.size();
      return Error(pos_, truncated ? "truncated UTF-8 sequence in string" : "invalid UTF-8 in string");
    }
    out.append(s_.data() + pos_, n);
    pos_ += n;
    return Status::Ok();
  }

  // pos_ is at the opening quote.
  Status ParseString(std::string& out) {
    const size_t open = pos_;
    ++pos_;
    while (true) {
      if (pos_ >= s_.size()) return Error(open, "unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (c < 0x20) return Error(pos_, "unescaped control character " + Describe(c) + " in string");
      if (c >= 0x80) {
        FLYP_RETURN_IF_ERROR(CopyUtf8(out));
        continue;
      }
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      const size_t esc = pos_;
      if (pos_ + 1 >= s_.size()) return Error(esc, "unterminated escape");
      char e = s_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          FLYP_RETURN_IF_ERROR(ParseHex4(pos_, cp));
          pos_ += 4;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return Error(esc, "lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 1 >= s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') {
              return Error(esc, "high surrogate not followed by a low surrogate \\u escape");
            }
            uint32_t lo;
            FLYP_RETURN_IF_ERROR(ParseHex4(pos_ + 2, lo));
            if (lo < 0xDC00 || lo > 0xDFFF) {
              return Error(pos_, "high surrogate not followed by a low surrogate \\u escape");
            }
            pos_ += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          return Error(esc, "invalid escape '\\" + std::string(1, e) + "'");
      }
    }
  }

  Status ParseArray(Json& out, int depth) {
    out = Json::MakeArray();
    ++pos_;  // '['
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      Json item;
      FLYP_RETURN_IF_ERROR(ParseValue(item, depth + 1));
      out.arr_.push_back(std::move(item));
      SkipSpace();
      if (pos_ >= s_.size()) return Error(pos_, "unexpected end of input in array, expected ',' or ']'");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return Status::Ok();
      }
      return Error(pos_, "unexpected " + Describe(s_[pos_]) + " in array, expected ',' or ']'");
    }
  }

  Status ParseObject(Json& out, int depth) {
    out = Json::MakeObject();
    ++pos_;  // '{'
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Status::Ok();
    }
    std::unordered_set<std::string> seen;  // Find() is linear; vocab.json has 49k keys
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size()) return Error(pos_, "unexpected end of input in object, expected a key");
      if (s_[pos_] != '"') return Error(pos_, "unexpected " + Describe(s_[pos_]) + ", expected a string key");
      const size_t key_at = pos_;
      std::string key;
      FLYP_RETURN_IF_ERROR(ParseString(key));
      if (!seen.insert(key).second) return Error(key_at, "duplicate key \"" + key + "\"");
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error(pos_, "expected ':' after object key");
      ++pos_;
      SkipSpace();
      Json value;
      FLYP_RETURN_IF_ERROR(ParseValue(value, depth + 1));
      out.obj_.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (pos_ >= s_.size()) return Error(pos_, "unexpected end of input in object, expected ',' or '}'");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return Status::Ok();
      }
      return Error(pos_, "unexpected " + Describe(s_[pos_]) + " in object, expected ',' or '}'");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

StatusOr<Json> ParseJson(std::string_view text) { return JsonParser(text).ParseDocument(); }

}  // namespace flyp
