#include "common/spec/spec_yaml.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "common/json.h"
#include "common/numbers.h"
#include "common/utf8.h"

namespace flyp {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

std::string Child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "'" + QuoteForError(n.Scalar()) + "'";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an undefined value";
  }
}

std::string LineOf(const YAML::Mark& m) { return m.is_null() ? "?" : std::to_string(m.line + 1); }

// "ACTIVATION" for enum Activation, "LR_SCHEDULE" for LrSchedule.
std::string EnumPrefix(const EnumDescriptor* type) {
  std::string out;
  const std::string& n = type->name();
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c))) out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out + "_";
}

class YamlReader {
 public:
  explicit YamlReader(std::vector<FieldError>* errors) : errors_(errors), first_error_(errors->size()) {}

  // Reads the document into `msg`; problems go to `errors`.
  void Read(const YAML::Node& root, Message* msg) {
    ReadMessage(root, msg, "");
    if (suppressed_ > 0) {
      errors_->push_back(FieldError{
          "", "... and " + std::to_string(suppressed_) + " more problem" + (suppressed_ == 1 ? "" : "s")});
    }
  }

 private:
  void Error(const std::string& path, const std::string& message) {
    if (errors_->size() - first_error_ >= kMaxSpecErrors) {
      ++suppressed_;
      return;
    }
    errors_->push_back(FieldError{path, message});
  }

  // Counts one value against kMaxSpecNodes; false (after one error) once
  // the budget is spent, and from then on.
  bool Visit(const std::string& path) {
    if (exhausted_) return false;
    if (++nodes_ > kMaxSpecNodes) {
      Exhausted(path, "the spec has more than " + std::to_string(kMaxSpecNodes) +
                          " values (aliases count every time they are used)");
      return false;
    }
    return true;
  }

  void Exhausted(const std::string& path, const std::string& message) {
    exhausted_ = true;
    Error(path, message + "; stopped reading");
  }

  // The scalar of `node`, counted against kMaxSpecScalarBytes and
  // kMaxSpecValueBytes; nullptr (after an error) when over budget.
  const std::string* TakeScalar(const YAML::Node& node, const std::string& path) {
    const std::string& s = node.Scalar();
    if (s.size() > kMaxSpecScalarBytes) {
      Error(path, "value of " + std::to_string(s.size()) + " bytes is longer than the limit of " +
                      std::to_string(kMaxSpecScalarBytes));
      return nullptr;
    }
    value_bytes_ += s.size();
    if (value_bytes_ > kMaxSpecValueBytes) {
      Exhausted(path, "the spec's values add up to more than " + std::to_string(kMaxSpecValueBytes) +
                          " bytes (aliases count every time they are used)");
      return nullptr;
    }
    return &s;
  }

  void ReadMessage(const YAML::Node& node, Message* msg, const std::string& path) {
    if (!node.IsMap()) {
      Error(path, "expected a mapping, got " + KindName(node));
      return;
    }
    const Descriptor* d = msg->GetDescriptor();
    std::map<std::string, YAML::Mark> seen;  // key -> where it was first given
    for (const auto& kv : node) {
      if (!Visit(path)) return;
      if (!kv.first.IsScalar()) {
        Error(path,
              "keys must be field names, got " + KindName(kv.first) + " at line " + LineOf(kv.first.Mark()));
        continue;
      }
      const std::string& key = kv.first.Scalar();
      const FieldDescriptor* f = d->FindFieldByName(key);
      const std::string fpath = Child(path, f != nullptr ? key : QuoteForError(key));
      auto [first, inserted] = seen.emplace(key, kv.first.Mark());
      if (!inserted) {
        Error(fpath, "given twice (line " + LineOf(first->second) + " and line " + LineOf(kv.first.Mark()) +
                         "); a key may appear once per mapping");
        continue;
      }
      if (f == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
        std::string guess = key.size() <= kMaxQuotedChars ? ClosestMatch(key, names) : std::string();
        Error(fpath, guess.empty() ? "unknown field (known: " + Join(names, ", ") + ")"
                                   : "unknown field; did you mean " + guess + "?");
        continue;
      }
      ReadField(kv.second, msg, f, fpath);
    }
  }

  void ReadField(const YAML::Node& node, Message* msg, const FieldDescriptor* f, const std::string& path) {
    const Reflection* r = msg->GetReflection();
    if (node.IsNull()) {
      Error(path, "missing value");
      return;
    }
    if (f->is_map()) {
      ReadMap(node, msg, f, path);
      return;
    }
    if (f->is_repeated()) {
      if (!node.IsSequence()) {
        Error(path, "expected a list, got " + KindName(node));
        return;
      }
      if (node.size() > kMaxSpecListItems) {
        Error(path, "list of " + std::to_string(node.size()) + " items is longer than the limit of " +
                        std::to_string(kMaxSpecListItems));
        return;
      }
      r->ClearField(msg, f);
      for (size_t i = 0; i < node.size(); ++i) {
        const std::string ipath = path + "[" + std::to_string(i) + "]";
        if (!Visit(ipath)) return;
        ReadValue(node[i], msg, f, ipath, /*repeated=*/true);
      }
      return;
    }
    ReadValue(node, msg, f, path, /*repeated=*/false);
  }

  // *out = the parsed value, or records its error at `path`.
  template <typename T, typename U>
  bool Parsed(const StatusOr<T>& v, const std::string& path, U* out) {
    if (!v.ok()) {
      Error(path, v.status().message());
      return false;
    }
    *out = *v;
    return true;
  }

  // A proto map field from a YAML mapping; entries keep the document's
  // order, a key given twice is an error.
  void ReadMap(const YAML::Node& node, Message* msg, const FieldDescriptor* f, const std::string& path) {
    if (!node.IsMap()) {
      Error(path, "expected a mapping, got " + KindName(node));
      return;
    }
    const Reflection* r = msg->GetReflection();
    r->ClearField(msg, f);
    const FieldDescriptor* key_field = f->message_type()->map_key();
    const FieldDescriptor* value_field = f->message_type()->map_value();
    std::vector<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const std::string epath = path + "[" + key + "]";
      if (!Scalar(kv.first, path, "scalar keys")) continue;
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        Error(epath, "key given twice");
        continue;
      }
      seen.push_back(key);
      if (kv.second.IsNull()) {
        Error(epath, "missing value");
        continue;
      }
      Message* entry = r->AddMessage(msg, f);
      ReadValue(kv.first, entry, key_field, epath, /*repeated=*/false);
      ReadValue(kv.second, entry, value_field, epath, /*repeated=*/false);
    }
  }

  // The scalar of `node` (budgeted), or nullptr after an error naming `want`.
  const std::string* Scalar(const YAML::Node& node, const std::string& path, const char* want) {
    if (node.IsScalar()) return TakeScalar(node, path);
    Error(path, std::string("expected ") + want + ", got " + KindName(node));
    return nullptr;
  }

  void ReadValue(const YAML::Node& node, Message* msg, const FieldDescriptor* f, const std::string& path,
                 bool repeated) {
    const Reflection* r = msg->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        if (f->message_type()->full_name() == "google.protobuf.Duration") {
          const std::string* text = Scalar(node, path, "a duration such as 30s, 5m or 2h");
          if (text == nullptr) return;
          int64_t s = 0;
          int32_t ns = 0;
          Status parsed = ParseDuration(*text, &s, &ns);
          if (!parsed.ok()) {
            Error(path, parsed.message());
            return;
          }
          auto* dur = static_cast<google::protobuf::Duration*>(repeated ? r->AddMessage(msg, f)
                                                                        : r->MutableMessage(msg, f));
          dur->set_seconds(s);
          dur->set_nanos(ns);
          return;
        }
        Message* sub = repeated ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
        ReadMessage(node, sub, path);
        return;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const std::string* text = Scalar(node, path, "a name");
        if (text == nullptr) return;
        const EnumDescriptor* type = f->enum_type();
        const std::string& want = *text;
        std::string upper = EnumPrefix(type);
        for (char c : want) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const EnumValueDescriptor* v = type->FindValueByName(upper);
        if (v == nullptr || v->number() == 0 || want.empty() ||
            std::any_of(want.begin(), want.end(), [](unsigned char c) { return std::isupper(c); })) {
          std::vector<std::string> names = EnumYamlNames(type);
          std::string guess = want.size() <= kMaxQuotedChars ? ClosestMatch(want, names) : std::string();
          Error(path, "unknown value '" + QuoteForError(want) + "'" +
                          (guess.empty() ? "" : "; did you mean " + guess + "?") +
                          " (one of: " + Join(names, ", ") + ")");
          return;
        }
        if (repeated)
          r->AddEnum(msg, f, v);
        else
          r->SetEnum(msg, f, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        const std::string* text = Scalar(node, path, "true or false");
        if (text == nullptr) return;
        const std::string& s = *text;
        bool b;
        if (s == "true" || s == "True" || s == "yes")
          b = true;
        else if (s == "false" || s == "False" || s == "no")
          b = false;
        else {
          Error(path, "expected true or false, got '" + QuoteForError(s) + "'");
          return;
        }
        if (repeated)
          r->AddBool(msg, f, b);
        else
          r->SetBool(msg, f, b);
        return;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        const std::string* text = Scalar(node, path, "a string");
        if (text == nullptr) return;
        if (repeated)
          r->AddString(msg, f, *text);
        else
          r->SetString(msg, f, *text);
        return;
      }
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        const std::string* text = Scalar(node, path, "an integer");
        if (text == nullptr) return;
        const std::string& s = *text;
        switch (f->cpp_type()) {
          case FieldDescriptor::CPPTYPE_INT32: {
            int32_t v;
            if (!Parsed(ParseInt32(s, ""), path, &v)) return;
            repeated ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
            break;
          }
          case FieldDescriptor::CPPTYPE_INT64: {
            int64_t v;
            if (!Parsed(ParseInt64(s, ""), path, &v)) return;
            repeated ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
            break;
          }
          case FieldDescriptor::CPPTYPE_UINT32: {
            uint64_t v;
            if (!Parsed(ParseUint64(s, "", std::numeric_limits<uint32_t>::max()), path, &v)) return;
            repeated ? r->AddUInt32(msg, f, static_cast<uint32_t>(v))
                     : r->SetUInt32(msg, f, static_cast<uint32_t>(v));
            break;
          }
          default: {
            uint64_t v;
            if (!Parsed(ParseUint64(s, ""), path, &v)) return;
            repeated ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
          }
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_FLOAT:
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        const std::string* text = Scalar(node, path, "a number");
        if (text == nullptr) return;
        const std::string& s = *text;
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
          float v;  // rounded from the text, not through double; out of float's range is an error
          if (!Parsed(ParseFloat(s, ""), path, &v)) return;
          repeated ? r->AddFloat(msg, f, v) : r->SetFloat(msg, f, v);
        } else {
          double v;
          if (!Parsed(ParseDouble(s, ""), path, &v)) return;
          repeated ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
        }
        return;
      }
    }
  }

  std::vector<FieldError>* errors_;
  const size_t first_error_;  // errors_ entries before this document's
  size_t suppressed_ = 0;     // problems beyond kMaxSpecErrors
  size_t nodes_ = 0;
  size_t value_bytes_ = 0;
  bool exhausted_ = false;
};

template <typename T>
std::string ShortestNumber(T v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  std::string s(buf, end);
  // Keep floats recognisable as floats in YAML ("1" -> "1.0") unless exponent.
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

// The order to write a repeated field's elements in: as stored, except a
// map's entries, sorted by key (a protobuf map iterates in no fixed order,
// and printed jobs must not differ between two reads).
std::vector<int> ElementOrder(const Message& msg, const FieldDescriptor* f) {
  const Reflection* r = msg.GetReflection();
  std::vector<int> order(static_cast<size_t>(r->FieldSize(msg, f)));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  if (!f->is_map()) return order;
  const FieldDescriptor* key = f->message_type()->map_key();
  auto key_text = [&](int i) {
    const Message& entry = r->GetRepeatedMessage(msg, f, i);
    const Reflection* er = entry.GetReflection();
    if (key->cpp_type() == FieldDescriptor::CPPTYPE_STRING) return er->GetString(entry, key);
    std::string text;
    google::protobuf::TextFormat::PrintFieldValueToString(entry, key, -1, &text);
    return std::string(20 - std::min<size_t>(20, text.size()), '0') +
           text;  // numeric order for non-negative keys
  };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key_text(a) < key_text(b); });
  return order;
}

void EmitValue(YAML::Emitter& out, const Message& msg, const FieldDescriptor* f, int index);

// A proto map as a block mapping, sorted by key (map order is unspecified).
void EmitMap(YAML::Emitter& out, const Message& msg, const FieldDescriptor* f) {
  const Reflection* r = msg.GetReflection();
  const FieldDescriptor* key_field = f->message_type()->map_key();
  const FieldDescriptor* value_field = f->message_type()->map_value();
  std::vector<const Message*> entries;
  for (int i = 0; i < r->FieldSize(msg, f); ++i) entries.push_back(&r->GetRepeatedMessage(msg, f, i));
  auto key_text = [&](const Message* e) {
    YAML::Emitter k;
    EmitValue(k, *e, key_field, -1);
    return std::string(k.c_str());
  };
  std::sort(entries.begin(), entries.end(),
            [&](const Message* a, const Message* b) { return key_text(a) < key_text(b); });
  out << YAML::BeginMap;
  for (const Message* e : entries) {
    out << YAML::Key;
    EmitValue(out, *e, key_field, -1);
    out << YAML::Value;
    EmitValue(out, *e, value_field, -1);
  }
  out << YAML::EndMap;
}

void EmitMessage(YAML::Emitter& out, const Message& msg) {
  const Reflection* r = msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(msg, &fields);  // set fields, in field-number order
  std::sort(fields.begin(), fields.end(),
            [](const FieldDescriptor* a, const FieldDescriptor* b) { return a->index() < b->index(); });
  out << YAML::BeginMap;
  for (const FieldDescriptor* f : fields) {
    out << YAML::Key << f->name() << YAML::Value;
    if (f->is_map()) {
      EmitMap(out, msg, f);
    } else if (f->is_repeated()) {
      bool flow = f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE &&
                  f->cpp_type() != FieldDescriptor::CPPTYPE_STRING;
      out << (flow ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
      for (int i : ElementOrder(msg, f)) EmitValue(out, msg, f, i);
      out << YAML::EndSeq;
    } else {
      EmitValue(out, msg, f, -1);
    }
  }
  out << YAML::EndMap;
}

void EmitValue(YAML::Emitter& out, const Message& msg, const FieldDescriptor* f, int i) {
  const Reflection* r = msg.GetReflection();
  const bool rep = i >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = rep ? r->GetRepeatedMessage(msg, f, i) : r->GetMessage(msg, f);
      if (f->message_type()->full_name() == "google.protobuf.Duration") {
        const auto& d = static_cast<const google::protobuf::Duration&>(sub);
        out << FormatDuration(d.seconds(), d.nanos());
      } else if (f->message_type()->full_name() == "google.protobuf.Timestamp") {
        // RFC 3339, as the JSON mapping writes it (e.g. Job status times).
        out << google::protobuf::util::TimeUtil::ToString(
            static_cast<const google::protobuf::Timestamp&>(sub));
      } else {
        EmitMessage(out, sub);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_ENUM:
      out << EnumYamlName(rep ? r->GetRepeatedEnum(msg, f, i) : r->GetEnum(msg, f));
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      out << ((rep ? r->GetRepeatedBool(msg, f, i) : r->GetBool(msg, f)) ? "true" : "false");
      return;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(msg, f, i) : r->GetString(msg, f);
      out << YAML::DoubleQuoted << s;
      return;
    }
    case FieldDescriptor::CPPTYPE_INT32:
      out << (rep ? r->GetRepeatedInt32(msg, f, i) : r->GetInt32(msg, f));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      out << (rep ? r->GetRepeatedInt64(msg, f, i) : r->GetInt64(msg, f));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      out << (rep ? r->GetRepeatedUInt32(msg, f, i) : r->GetUInt32(msg, f));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      out << (rep ? r->GetRepeatedUInt64(msg, f, i) : r->GetUInt64(msg, f));
      return;
    case FieldDescriptor::CPPTYPE_FLOAT:
      out << ShortestNumber(rep ? r->GetRepeatedFloat(msg, f, i) : r->GetFloat(msg, f));
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out << ShortestNumber(rep ? r->GetRepeatedDouble(msg, f, i) : r->GetDouble(msg, f));
      return;
  }
}

Json JsonValue(const Message& msg, const FieldDescriptor* f, int i);

Json JsonMessage(const Message& msg) {
  const Reflection* r = msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(msg, &fields);
  std::sort(fields.begin(), fields.end(),
            [](const FieldDescriptor* a, const FieldDescriptor* b) { return a->index() < b->index(); });
  Json out = Json::MakeObject();
  for (const FieldDescriptor* f : fields) {
    if (f->is_repeated()) {
      Json arr = Json::MakeArray();
      for (int i : ElementOrder(msg, f)) arr.Append(JsonValue(msg, f, i));
      out.Set(f->name(), std::move(arr));
    } else {
      out.Set(f->name(), JsonValue(msg, f, -1));
    }
  }
  return out;
}

Json JsonValue(const Message& msg, const FieldDescriptor* f, int i) {
  const Reflection* r = msg.GetReflection();
  const bool rep = i >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = rep ? r->GetRepeatedMessage(msg, f, i) : r->GetMessage(msg, f);
      if (f->message_type()->full_name() == "google.protobuf.Duration") {
        const auto& d = static_cast<const google::protobuf::Duration&>(sub);
        return Json(FormatDuration(d.seconds(), d.nanos()));
      }
      if (f->message_type()->full_name() == "google.protobuf.Timestamp") {
        return Json(
            google::protobuf::util::TimeUtil::ToString(static_cast<const google::protobuf::Timestamp&>(sub)));
      }
      return JsonMessage(sub);
    }
    case FieldDescriptor::CPPTYPE_ENUM:
      return Json(EnumYamlName(rep ? r->GetRepeatedEnum(msg, f, i) : r->GetEnum(msg, f)));
    case FieldDescriptor::CPPTYPE_BOOL:
      return Json(rep ? r->GetRepeatedBool(msg, f, i) : r->GetBool(msg, f));
    case FieldDescriptor::CPPTYPE_STRING:
      return Json(rep ? r->GetRepeatedString(msg, f, i) : r->GetString(msg, f));
    case FieldDescriptor::CPPTYPE_INT32:
      return Json(rep ? r->GetRepeatedInt32(msg, f, i) : r->GetInt32(msg, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return Json(static_cast<long long>(rep ? r->GetRepeatedInt64(msg, f, i) : r->GetInt64(msg, f)));
    case FieldDescriptor::CPPTYPE_UINT32:
      return Json(rep ? r->GetRepeatedUInt32(msg, f, i) : r->GetUInt32(msg, f));
    case FieldDescriptor::CPPTYPE_UINT64: {
      const uint64_t v = rep ? r->GetRepeatedUInt64(msg, f, i) : r->GetUInt64(msg, f);
      if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Json(static_cast<long long>(v));
      return Json(static_cast<double>(v));
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      // The float's shortest text, so 0.1f is written 0.1 and reads back as 0.1f.
      const float v = rep ? r->GetRepeatedFloat(msg, f, i) : r->GetFloat(msg, f);
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
      StatusOr<double> d = ParseDouble(std::string_view(buf, static_cast<size_t>(end - buf)), "");
      return Json(d.ok() ? *d : static_cast<double>(v));
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return Json(rep ? r->GetRepeatedDouble(msg, f, i) : r->GetDouble(msg, f));
  }
  return Json();
}

// "name" or "name[3]" of an override path.
struct PathSegment {
  std::string name;
  bool indexed = false;
  int index = 0;
};

bool ParseSegment(const std::string& text, PathSegment* seg, std::string* problem) {
  const size_t open = text.find('[');
  seg->name = text.substr(0, open);
  if (seg->name.empty()) {
    *problem = "empty field name";
    return false;
  }
  if (open == std::string::npos) return true;
  if (text.back() != ']') {
    *problem = "expected name[INDEX]";
    return false;
  }
  StatusOr<int32_t> i =
      ParseInt32(std::string_view(text).substr(open + 1, text.size() - open - 2), "index", 0);
  if (!i.ok()) {
    *problem = i.status().message();
    return false;
  }
  seg->indexed = true;
  seg->index = *i;
  return true;
}

// `value` as the YAML text of a field's value: flow lists and mappings as
// written, anything else as a double-quoted scalar (the reader types it).
std::string YamlValueText(const std::string& value) {
  if (!value.empty() && (value[0] == '[' || value[0] == '{')) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string EnumYamlName(const EnumValueDescriptor* value) {
  std::string prefix = EnumPrefix(value->type());
  std::string name = value->name();
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::vector<std::string> EnumYamlNames(const EnumDescriptor* type) {
  std::vector<std::string> out;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) out.push_back(EnumYamlName(type->value(i)));
  }
  return out;
}

bool YamlToMessage(std::string_view yaml, Message* msg, std::vector<FieldError>* errors) {
  size_t before = errors->size();
  if (yaml.size() > kMaxSpecYamlBytes) {
    errors->push_back(FieldError{"", "the spec is " + std::to_string(yaml.size()) +
                                         " bytes, more than the limit of " +
                                         std::to_string(kMaxSpecYamlBytes)});
    return false;
  }
  // yaml-cpp would read malformed bytes as U+FFFD: refuse them instead.
  if (Status utf8 = CheckUtf8(yaml, "the spec"); !utf8.ok()) {
    errors->push_back(FieldError{"", utf8.message()});
    return false;
  }
  // Nor may the text hold what YAML does not allow (C0 controls other than
  // tab and line ends, DEL, C1 controls other than NEL): yaml-cpp read a NUL
  // in a value as a different character instead of refusing it.
  for (size_t i = 0; i < yaml.size(); ++i) {
    const auto c = static_cast<unsigned char>(yaml[i]);
    const bool c1 = c == 0xC2 && i + 1 < yaml.size() && static_cast<unsigned char>(yaml[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(yaml[i + 1]) <= 0x9F &&
                    static_cast<unsigned char>(yaml[i + 1]) != 0x85;
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F || c1) {
      char code[16];
      std::snprintf(
          code, sizeof(code), c1 ? "U+%04X" : "0x%02X",
          c1 ? static_cast<unsigned>(static_cast<unsigned char>(yaml[i + 1])) : static_cast<unsigned>(c));
      errors->push_back(FieldError{"", "the spec: control character " + std::string(code) + " at " +
                                           TextPosition(yaml, i) + " (YAML does not allow it)"});
      return false;
    }
  }
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsNull()) {
      errors->push_back(FieldError{"", "the spec is empty"});
      return false;
    }
    YamlReader(errors).Read(root, msg);
  } catch (const YAML::DeepRecursion& e) {
    errors->push_back(FieldError{"", "YAML nested too deeply (around line " +
                                         std::to_string(e.mark.line + 1) + ", column " +
                                         std::to_string(e.mark.column + 1) + ")"});
    return false;
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? std::string()
                                         : " at line " + std::to_string(e.mark.line + 1) + ", column " +
                                               std::to_string(e.mark.column + 1);
    errors->push_back(FieldError{"", "YAML syntax error" + where + ": " + e.msg});
    return false;
  }
  return errors->size() == before;
}

void CapSpecErrors(std::vector<FieldError>* errors) {
  if (errors->size() <= kMaxSpecErrors) return;
  const size_t more = errors->size() - kMaxSpecErrors;
  errors->resize(kMaxSpecErrors);
  errors->push_back(
      FieldError{"", "... and " + std::to_string(more) + " more problem" + (more == 1 ? "" : "s")});
}

std::string MessageToYaml(const Message& msg) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitMessage(out, msg);
  return std::string(out.c_str()) + "\n";
}

std::string MessageToJson(const Message& msg) { return JsonMessage(msg).Dump(2) + "\n"; }

bool ApplyFieldOverride(std::string_view assignment, Message* msg, std::vector<FieldError>* errors) {
  const std::string text(assignment);
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    errors->push_back({"", "expected PATH=VALUE (e.g. optim.learning_rate=1e-5), got '" + text + "'"});
    return false;
  }
  const std::string value = text.substr(eq + 1);
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t dot = text.find('.', start);
    if (dot == std::string::npos || dot > eq) {
      parts.push_back(text.substr(start, eq - start));
      break;
    }
    parts.push_back(text.substr(start, dot - start));
    start = dot + 1;
  }
  Message* m = msg;
  std::string path;
  for (size_t k = 0; k < parts.size(); ++k) {
    PathSegment seg;
    std::string problem;
    const std::string here = Child(path, parts[k]);
    if (!ParseSegment(parts[k], &seg, &problem)) {
      errors->push_back({here, problem});
      return false;
    }
    const Descriptor* d = m->GetDescriptor();
    const FieldDescriptor* f = d->FindFieldByName(seg.name);
    if (f == nullptr) {
      std::vector<std::string> names;
      for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
      const std::string guess = ClosestMatch(seg.name, names);
      errors->push_back({Child(path, seg.name), guess.empty()
                                                    ? "unknown field (known: " + Join(names, ", ") + ")"
                                                    : "unknown field; did you mean " + guess + "?"});
      return false;
    }
    const bool last = k + 1 == parts.size();
    const bool is_message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                            f->message_type()->full_name() != "google.protobuf.Duration";
    if (seg.indexed && !(f->is_repeated() && is_message)) {
      errors->push_back({here, "not a list of sections; set the whole field (" + seg.name + "=...)"});
      return false;
    }
    if (last && !seg.indexed) {
      std::vector<FieldError> errs;
      YamlToMessage(seg.name + ": " + YamlValueText(value), m, &errs);
      for (auto& e : errs) errors->push_back({path.empty() ? e.path : path + "." + e.path, e.message});
      return errs.empty();
    }
    if (!is_message) {
      errors->push_back({here, "is a value, not a section"});
      return false;
    }
    const Reflection* r = m->GetReflection();
    if (f->is_repeated()) {
      if (!seg.indexed) {
        errors->push_back(
            {here, "is a list; select an element (" + seg.name + "[0]." + parts.back() + "=...)"});
        return false;
      }
      const int size = r->FieldSize(*m, f);
      if (seg.index > size) {
        errors->push_back({here, "index " + std::to_string(seg.index) + " is past the end (the list has " +
                                     std::to_string(size) + " element" + (size == 1 ? "" : "s") + ")"});
        return false;
      }
      m = seg.index == size ? r->AddMessage(m, f) : r->MutableRepeatedMessage(m, f, seg.index);
    } else {
      m = r->MutableMessage(m, f);
    }
    if (last) {  // name[i]=VALUE: the element as a whole
      m->Clear();
      std::vector<FieldError> errs;
      YamlToMessage(value, m, &errs);
      for (auto& e : errs) errors->push_back({e.path.empty() ? here : here + "." + e.path, e.message});
      return errs.empty();
    }
    path = here;
  }
  return true;
}

Status ParseDuration(std::string_view text, int64_t* seconds, int32_t* nanos) {
  auto invalid = [&] {
    return InvalidArgumentError("expected a duration such as 30s, 5m or 2h, got '" + QuoteForError(text) +
                                "'");
  };
  auto too_long = [&] {
    return InvalidArgumentError("duration '" + QuoteForError(text) + "' is out of range (at most " +
                                std::to_string(kMaxDurationSeconds) + "s, 10000 years)");
  };
  std::string_view s = text;
  if (s.empty()) return invalid();
  const bool neg = s[0] == '-';
  if (neg) s.remove_prefix(1);
  // A bare integer is seconds.
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    StatusOr<int64_t> v = ParseInt64(s, "");
    if (!v.ok() || *v > kMaxDurationSeconds) return too_long();  // all digits: only the range can fail
    *seconds = neg ? -*v : *v;
    *nanos = 0;
    return Status::Ok();
  }
  // Exact arithmetic in nanoseconds (128 bits: a term's digits times its
  // unit cannot overflow once the integer part is range-checked).
  using Wide = __int128;
  constexpr Wide kMaxNanos = static_cast<Wide>(kMaxDurationSeconds) * 1000000000;
  Wide total = 0;
  bool any = false;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    const std::string_view whole_digits = s.substr(start, i - start);
    std::string_view frac_digits;
    if (i < s.size() && s[i] == '.') {
      const size_t f = ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      frac_digits = s.substr(f, i - f);
    }
    if (whole_digits.empty() && frac_digits.empty()) return invalid();
    const size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    const std::string_view unit = s.substr(ustart, i - ustart);
    int64_t unit_ns;
    if (unit == "h")
      unit_ns = 3600000000000LL;
    else if (unit == "m")
      unit_ns = 60000000000LL;
    else if (unit == "s")
      unit_ns = 1000000000LL;
    else if (unit == "ms")
      unit_ns = 1000000LL;
    else if (unit == "us")
      unit_ns = 1000LL;
    else if (unit == "ns")
      unit_ns = 1LL;
    else
      return invalid();
    Wide term = 0;
    if (!whole_digits.empty()) {
      StatusOr<int64_t> w = ParseInt64(whole_digits, "");
      if (!w.ok()) return too_long();  // digits only: only the range can fail
      term = static_cast<Wide>(*w) * unit_ns;
      if (term > kMaxNanos) return too_long();
    }
    // The fraction, rounded to the nanosecond (digits past 18 cannot matter).
    frac_digits = frac_digits.substr(0, std::min<size_t>(frac_digits.size(), 18));
    if (!frac_digits.empty()) {
      StatusOr<int64_t> f = ParseInt64(frac_digits, "");
      if (!f.ok()) return invalid();
      Wide scale = 1;
      for (size_t k = 0; k < frac_digits.size(); ++k) scale *= 10;
      term += (static_cast<Wide>(*f) * unit_ns * 2 + scale) / (2 * scale);
    }
    total += term;
    if (total > kMaxNanos) return too_long();
    any = true;
  }
  if (!any) return invalid();
  const int64_t whole = static_cast<int64_t>(total / 1000000000);
  const int32_t ns = static_cast<int32_t>(total % 1000000000);
  *seconds = neg ? -whole : whole;
  *nanos = neg ? -ns : ns;
  return Status::Ok();
}

std::string FormatDuration(int64_t seconds, int32_t nanos) {
  if (nanos != 0) {
    // Milliseconds when exact, else nanoseconds; both in 64 bits for any
    // valid Duration (|seconds| <= kMaxDurationSeconds).
    const bool neg = seconds < 0 || nanos < 0;
    // Unsigned: an invalid Duration (a gRPC client's) prints wrongly, never UB.
    const uint64_t s = seconds < 0 ? 0 - static_cast<uint64_t>(seconds) : static_cast<uint64_t>(seconds);
    const uint64_t n =
        nanos < 0 ? 0 - static_cast<uint64_t>(static_cast<int64_t>(nanos)) : static_cast<uint64_t>(nanos);
    const std::string sign = neg ? "-" : "";
    if (n % 1000000 == 0) return sign + std::to_string(s * 1000 + n / 1000000) + "ms";
    if (s < 9000000000ULL) return sign + std::to_string(s * 1000000000ULL + n) + "ns";
    return sign + std::to_string(s) + "s" + std::to_string(n) + "ns";
  }
  if (seconds == 0) return "0s";
  std::string out = seconds < 0 ? "-" : "";
  uint64_t s = seconds < 0 ? 0 - static_cast<uint64_t>(seconds) : static_cast<uint64_t>(seconds);
  if (s >= 3600) {
    out += std::to_string(s / 3600) + "h";
    s %= 3600;
  }
  if (s >= 60) {
    out += std::to_string(s / 60) + "m";
    s %= 60;
  }
  if (s > 0) out += std::to_string(s) + "s";
  return out;
}

}  // namespace flyp
