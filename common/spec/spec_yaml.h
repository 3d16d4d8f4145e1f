// YAML <-> protobuf for job specs, driven by the message descriptors: YAML
// keys are proto field names, enum values are written without their type
// prefix in lower case (Method METHOD_FLYP <-> "flyp"), and
// google.protobuf.Duration fields are strings such as "90s", "5m", "1h30m".
//
// This is only the front end: it checks syntax, field names and types; the
// meaning of values is checked by ValidateJobSpec (common/spec/spec_validate.h).
//
// Hostile text is bounded (docs/security.md lists the budgets): the text
// must be well-formed UTF-8 of at most kMaxSpecYamlBytes; a key may appear
// once per mapping (a repeated key is an error naming both lines, never a
// silent merge); the walk over the document stops with one error when it
// has visited kMaxSpecNodes values or taken kMaxSpecValueBytes of scalars,
// counting an alias every time it is used (so an alias bomb is refused
// instead of expanded); one scalar may hold kMaxSpecScalarBytes and one list
// kMaxSpecListItems items. At most kMaxSpecErrors problems are reported.
#pragma once

#include <google/protobuf/message.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/edit_distance.h"  // ClosestMatch, for the spec's did-you-mean
#include "common/status.h"

namespace flyp {

// Budgets of the YAML front end.
inline constexpr size_t kMaxSpecYamlBytes = size_t{1} << 20;     // the whole text
inline constexpr size_t kMaxSpecNodes = 100000;                  // values visited, aliases at every use
inline constexpr size_t kMaxSpecValueBytes = size_t{4} << 20;    // scalar bytes taken, aliases at every use
inline constexpr size_t kMaxSpecScalarBytes = size_t{64} << 10;  // one scalar
inline constexpr size_t kMaxSpecListItems = 65536;               // one list
inline constexpr size_t kMaxSpecErrors = 100;                    // problems reported

// One problem in a spec: the dotted field path ("optim.learning_rate",
// "data.ood[1].shifts[0].kind") and what is wrong with it.
struct FieldError {
  std::string path;
  std::string message;
  std::string ToString() const { return path.empty() ? message : path + ": " + message; }
  bool operator==(const FieldError& o) const { return path == o.path && message == o.message; }
};
// For test failure messages.
inline void PrintTo(const FieldError& e, std::ostream* os) { *os << e.ToString(); }

// Fills `msg` from YAML text. Only keys present in the YAML are set, so the
// caller may pre-fill `msg` or apply defaults afterwards. Every problem found
// is appended to `errors` (parsing continues past bad fields, up to
// kMaxSpecErrors; a budget exceeded ends the walk); returns true when none
// were found.
bool YamlToMessage(std::string_view yaml, google::protobuf::Message* msg, std::vector<FieldError>* errors);

// Writes every set field of `msg` as block-style YAML, in field order (map
// entries sorted by key, so the output is the same on every call).
// Floating-point values use the shortest form that parses back exactly, so
// YamlToMessage(MessageToYaml(m)) == m.
std::string MessageToYaml(const google::protobuf::Message& msg);

// The same as JSON (indented, a trailing newline): the field names, enum
// names, durations and RFC 3339 times of MessageToYaml, so the output is
// also a valid spec document (JSON is YAML): YamlToMessage(MessageToJson(m))
// == m.
std::string MessageToJson(const google::protobuf::Message& msg);

// Applies one override "path.to.field=value" to `msg` (a spec as written,
// before defaults). The value is read as that field's YAML value would be,
// so it is typed by the schema: numbers, true/false, enum names, durations,
// a flow list "[0, 0.5, 1]" for a repeated field, a mapping "{...}" for a
// message. Message fields along the path are created; "name[i]" selects
// element i of a repeated message field (i == its size appends one).
// Problems are appended to `errors` with the field path
// ("optim.learning_rat: unknown field; did you mean learning_rate?");
// returns true when there were none.
bool ApplyFieldOverride(std::string_view assignment, google::protobuf::Message* msg,
                        std::vector<FieldError>* errors);

// google.protobuf.Duration's range: +-10000 years.
inline constexpr int64_t kMaxDurationSeconds = 315576000000;

// "1h30m", "90s", "250ms", "2h", or a bare integer (seconds). Fractions are
// allowed per unit ("1.5h"). Negative durations are accepted here and
// rejected by validation where they make no sense. INVALID_ARGUMENT for
// anything else, and for durations beyond kMaxDurationSeconds (the input is
// quoted, cut to kMaxQuotedChars).
Status ParseDuration(std::string_view text, int64_t* seconds, int32_t* nanos);
// The inverse, for any valid google.protobuf.Duration (|seconds| <=
// kMaxDurationSeconds, |nanos| < 1e9, same signs).
std::string FormatDuration(int64_t seconds, int32_t nanos);

// Caps `errors` at kMaxSpecErrors: the rest are replaced by one "... and N
// more problems" entry.
void CapSpecErrors(std::vector<FieldError>* errors);

// Enum value <-> YAML name: ACTIVATION_QUICK_GELU of enum Activation <-> "quick_gelu".
std::string EnumYamlName(const google::protobuf::EnumValueDescriptor* value);
// The YAML names of an enum's values, UNSPECIFIED excluded.
std::vector<std::string> EnumYamlNames(const google::protobuf::EnumDescriptor* type);

}  // namespace flyp
