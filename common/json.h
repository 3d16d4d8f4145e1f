// A small JSON value, a strict parser and a serializer (RFC 8259).
//
// Used for the safetensors header, HuggingFace vocab.json, test case files
// and reports. Objects keep their keys in insertion (= document) order, so a
// parsed document dumps back in the order it was written. Numbers keep a
// double and, when the literal is an integer that fits, the exact int64:
// 9007199254740993 survives a round trip, as do token ids and byte offsets.
//
// Parser contract (ParseJson): exactly one value surrounded by optional
// whitespace; no comments, no trailing commas, no NaN/Infinity, no leading
// zeros, no unescaped control characters, strings must be valid UTF-8,
// \uXXXX escapes must pair surrogates correctly, duplicate object keys are
// rejected, nesting is limited to 512 levels. Every error is
// INVALID_ARGUMENT "JSON line L, column C: what" (1-based, column in bytes).
//
// Thread safety: Json is a value type; distinct objects may be used from
// different threads, a shared const object may be read concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace flyp {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Array = std::vector<Json>;
  // Key order preserved; keys are unique (Set replaces, ParseJson rejects
  // duplicates).
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::kBool), bool_(b) {}
  // Integers are stored exactly (unsigned values above INT64_MAX are a
  // programming error).
  Json(int v) : Json(IntTag{}, v) {}
  Json(long v) : Json(IntTag{}, v) {}
  Json(long long v) : Json(IntTag{}, v) {}
  Json(unsigned v) : Json(IntTag{}, v) {}
  Json(unsigned long v) : Json(IntTag{}, static_cast<int64_t>(v)) {}
  Json(unsigned long long v) : Json(IntTag{}, static_cast<int64_t>(v)) {}
  Json(double v) : type_(Type::kNumber), num_(v) {}
  Json(const char* s) : type_(Type::kString), str_(s) {}
  Json(std::string s) : type_(Type::kString), str_(std::move(s)) {}
  Json(std::string_view s) : type_(Type::kString), str_(s) {}
  Json(Array a) : type_(Type::kArray), arr_(std::move(a)) {}
  Json(Object o) : type_(Type::kObject), obj_(std::move(o)) {}

  static Json MakeArray() { return Json(Array{}); }
  static Json MakeObject() { return Json(Object{}); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  // A number that holds an exact int64 (an integer literal in range, or a
  // value built from an integer type).
  bool is_integer() const { return type_ == Type::kNumber && has_int_; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors assert the type (a wrong type is a programming error; check
  // with is_*() first when the input is untrusted).
  bool as_bool() const;
  double as_double() const;  // any number
  int64_t as_int64() const;  // requires is_integer()
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  // Number of elements (array) or members (object); 0 otherwise.
  size_t size() const;

  // Object member lookup (linear in the number of members; build your own
  // map for large objects); nullptr when absent or when this is not an object.
  const Json* Find(std::string_view key) const;
  Json* Find(std::string_view key);

  // Object: replaces the member `key` or appends it. A null Json becomes an
  // empty object first.
  Json& Set(std::string key, Json value);
  // Array: appends. A null Json becomes an empty array first.
  Json& Append(Json value);

  // Serialises. indent < 0: compact ({"a":[1,2]}). indent >= 0: one element
  // per line, `indent` spaces per level, ": " after keys (like Python's
  // json.dumps(indent=n)). Non-ASCII text is written as UTF-8, control
  // characters escaped. Non-finite doubles are written as null (JSON has no
  // representation for them). Doubles use the shortest form that round-trips.
  std::string Dump(int indent = -1) const;

  // Structural equality; numbers compare by value (1 == 1.0).
  bool operator==(const Json& o) const;
  bool operator!=(const Json& o) const { return !(*this == o); }

 private:
  struct IntTag {};
  Json(IntTag, int64_t v) : type_(Type::kNumber), num_(static_cast<double>(v)), int_(v), has_int_(true) {}
  friend class JsonParser;

  void DumpTo(std::string& out, int indent, int depth) const;

  Type type_ = Type::kNull;
  bool bool_ = false;
  double num_ = 0.0;
  int64_t int_ = 0;
  bool has_int_ = false;
  std::string str_;
  Array arr_;
  Object obj_;
};

// Parses one JSON document (see the contract above).
StatusOr<Json> ParseJson(std::string_view text);

}  // namespace flyp
