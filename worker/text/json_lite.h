// A minimal JSON reader for the files the text component reads
// (HuggingFace vocab.json, test case files). Full JSON syntax (RFC 8259):
// objects, arrays, strings with \uXXXX escapes and surrogate pairs, numbers,
// true/false/null. Object member order is kept; duplicate keys are kept too
// (Find returns the last, as Python's json does).
//
// Thread safety: values are plain data.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace flyp::text {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;

  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kNumber; }
  // Last member named `key`, or nullptr (also when not an object).
  const JsonValue* Find(std::string_view key) const;
};

// Parses a whole document. Errors are InvalidArgument naming `source`, the
// line and column, and what was expected.
StatusOr<JsonValue> ParseJson(std::string_view text, const std::string& source);

}  // namespace flyp::text
