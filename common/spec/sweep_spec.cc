#include "common/spec/sweep_spec.h"

#include <google/protobuf/descriptor.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "common/file_util.h"
#include "common/numbers.h"
#include "common/spec/job_spec.h"

namespace flyp {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const char kSeedPath[] = "schedule.seed";

// ------------------------------------------------------------ field paths

struct Segment {
  std::string name;
  int index = -1;  // name[index]; -1: none
};

// "data.ood[1].shifts[0].kind" -> segments; false with *error for bad syntax.
bool SplitPath(const std::string& path, std::vector<Segment>* out, std::string* error) {
  out->clear();
  if (path.empty()) {
    *error = "empty field path";
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    Segment seg;
    const size_t open = part.find('[');
    seg.name = part.substr(0, open);
    if (open != std::string::npos) {
      if (part.back() != ']') {
        *error = "malformed index in '" + QuoteForError(part) + "' (write name[0])";
        return false;
      }
      StatusOr<int64_t> i = ParseInt64(part.substr(open + 1, part.size() - open - 2), "", 0, 1 << 20);
      if (!i.ok()) {
        *error = "malformed index in '" + QuoteForError(part) + "' (write name[0])";
        return false;
      }
      seg.index = static_cast<int>(*i);
    }
    if (seg.name.empty() || !std::all_of(seg.name.begin(), seg.name.end(), [](unsigned char c) {
          return std::islower(c) || std::isdigit(c) || c == '_';
        })) {
      *error = "'" + QuoteForError(path) +
               "' is not a field path (names of lower-case letters, digits and _ "
               "joined by '.', e.g. optim.learning_rate)";
      return false;
    }
    out->push_back(seg);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

std::string FieldNames(const Descriptor* d, std::vector<std::string>* names) {
  std::string all;
  for (int i = 0; i < d->field_count(); ++i) {
    names->push_back(d->field(i)->name());
    all += (i ? ", " : "") + d->field(i)->name();
  }
  return all;
}

// Resolves `path` against the JobSpec schema: the leaf field, or nullptr
// with *error ("unknown field 'learnig_rate' of optim; did you mean
// learning_rate?"). `scalar_leaf` additionally requires a single scalar.
const FieldDescriptor* ResolveJobSpecPath(const std::string& path, bool scalar_leaf, std::string* error) {
  std::vector<Segment> segs;
  if (!SplitPath(path, &segs, error)) return nullptr;
  const Descriptor* d = v1::JobSpec::descriptor();
  const FieldDescriptor* f = nullptr;
  std::string prefix;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& s = segs[i];
    const bool last = i + 1 == segs.size();
    if (d == nullptr) {
      *error = "'" + prefix + "' is a value, not a section: nothing lies below it";
      return nullptr;
    }
    f = d->FindFieldByName(s.name);
    if (f == nullptr) {
      std::vector<std::string> names;
      const std::string all = FieldNames(d, &names);
      const std::string guess = ClosestMatch(s.name, names);
      *error = "unknown field '" + s.name + "'" + (prefix.empty() ? "" : " of " + prefix) +
               (guess.empty() ? " (known: " + all + ")" : "; did you mean " + guess + "?");
      return nullptr;
    }
    prefix += (prefix.empty() ? "" : ".") + s.name;
    if (s.index >= 0 && (!f->is_repeated() || f->is_map())) {
      *error = "'" + prefix + "' is not a list: it takes no [index]";
      return nullptr;
    }
    if (s.index >= 0) prefix += "[" + std::to_string(s.index) + "]";
    const bool element = !f->is_repeated() || s.index >= 0;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && element && !f->is_map() &&
        f->message_type()->full_name() != "google.protobuf.Duration") {
      d = f->message_type();
    } else {
      d = nullptr;
      if (!last && f->is_repeated() && s.index < 0) {
        *error = "'" + prefix + "' is a list: give an index, e.g. " + prefix + "[0]";
        return nullptr;
      }
    }
    if (last && scalar_leaf && (d != nullptr || !element || f->is_map())) {
      *error = "'" + prefix + "' is " + (element ? "a section" : "a list") + "; name one value inside it";
      return nullptr;
    }
  }
  return f;
}

// ---------------------------------------------------------- YAML values

// One YAML value as flow text that YAML::Load gives back ("1e-05", "ft",
// "{name: flyp, mask_same_class: true}", "'a: b'").
std::string NodeText(const YAML::Node& n) {
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << n;
  return e.c_str();
}

StatusOr<YAML::Node> LoadValue(const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("not a YAML value: " + e.msg);
  }
}

// dst's keys overridden by src's, recursively for mappings.
void MergeInto(YAML::Node dst, const YAML::Node& src) {
  for (const auto& kv : src) {
    const std::string key = kv.first.Scalar();
    YAML::Node existing = dst[key];
    if (existing.IsMap() && kv.second.IsMap()) {
      MergeInto(existing, kv.second);
    } else {
      dst[key] = YAML::Clone(kv.second);
    }
  }
}

// Sets `value` at `path` of the YAML tree `root` (a mapping): mappings on
// the way are created; a [i] must exist in the tree; a mapping value is
// merged into a mapping already there, any other value replaces it.
Status SetAtPath(YAML::Node root, const std::string& path, const YAML::Node& value) {
  std::vector<Segment> segs;
  std::string error;
  if (!SplitPath(path, &segs, &error)) return InvalidArgumentError(error);
  YAML::Node cur;
  cur.reset(root);
  std::string prefix;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& s = segs[i];
    const bool last = i + 1 == segs.size();
    prefix += (prefix.empty() ? "" : ".") + s.name;
    if (!cur.IsMap())
      return InvalidArgumentError("'" + prefix + "': the spec has a value, not a section, above it");
    if (s.index < 0) {
      if (last) {
        YAML::Node existing = cur[s.name];
        if (existing.IsMap() && value.IsMap()) {
          MergeInto(existing, value);
        } else {
          cur[s.name] = YAML::Clone(value);
        }
        return Status::Ok();
      }
      if (!cur[s.name].IsDefined() || cur[s.name].IsNull()) cur[s.name] = YAML::Node(YAML::NodeType::Map);
      YAML::Node next = cur[s.name];
      cur.reset(next);
      continue;
    }
    YAML::Node seq = cur[s.name];
    if (!seq.IsSequence() || static_cast<int>(seq.size()) <= s.index) {
      return InvalidArgumentError("'" + prefix + "[" + std::to_string(s.index) + "]': the base spec has " +
                                  std::to_string(seq.IsSequence() ? seq.size() : 0) + " entries there");
    }
    prefix += "[" + std::to_string(s.index) + "]";
    if (last) {
      YAML::Node existing = seq[s.index];
      if (existing.IsMap() && value.IsMap()) {
        MergeInto(existing, value);
      } else {
        seq[s.index] = YAML::Clone(value);
      }
      return Status::Ok();
    }
    YAML::Node next = seq[s.index];
    cur.reset(next);
  }
  return Status::Ok();
}

// ------------------------------------------------------ search_space YAML

class SpaceReader {
 public:
  explicit SpaceReader(std::vector<FieldError>* errors) : errors_(errors) {}

  void Read(const YAML::Node& node, v1::SweepSpec* spec) {
    if (!node.IsDefined() || node.IsNull()) {
      Error("search_space", "required: a mapping from field path to values, or a list of them");
      return;
    }
    if (node.IsMap()) {
      ReadSpace(node, "search_space", spec->add_search_space());
    } else if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i) {
        ReadSpace(node[i], "search_space[" + std::to_string(i) + "]", spec->add_search_space());
      }
    } else {
      Error("search_space", "expected a mapping from field path to values, or a list of them, got '" +
                                QuoteForError(node.Scalar()) + "'");
    }
  }

 private:
  void Error(const std::string& path, const std::string& message) { errors_->push_back({path, message}); }

  void ReadSpace(const YAML::Node& node, const std::string& where, v1::SearchSpace* out) {
    if (node.IsNull()) return;  // `- {}`: one trial, the base as it is
    if (!node.IsMap()) {
      Error(where, "expected a mapping from field path to values");
      return;
    }
    for (const auto& kv : node) {
      const std::string path = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const std::string at = where + "." + path;
      v1::SearchParameter* p = out->add_parameters();
      p->set_path(path);
      const YAML::Node& d = kv.second;
      if (d.IsSequence()) {
        for (const auto& v : d) p->add_values(NodeText(v));
      } else if (d.IsMap()) {
        ReadDomain(d, at, p);
      } else {
        Error(at,
              "expected a list of values or a mapping {values | range | uniform | log_uniform, also}, got " +
                  (d.IsScalar() ? "'" + QuoteForError(d.Scalar()) + "'" : std::string("nothing")));
      }
    }
  }

  void ReadDomain(const YAML::Node& d, const std::string& at, v1::SearchParameter* p) {
    static const std::vector<std::string> kKeys = {"values", "range", "uniform", "log_uniform", "also"};
    for (const auto& kv : d) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const std::string kat = at + "." + key;
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        const std::string guess = ClosestMatch(key, kKeys);
        Error(kat, guess.empty() ? "unknown key (known: values, range, uniform, log_uniform, also)"
                                 : "unknown key; did you mean " + guess + "?");
        continue;
      }
      const YAML::Node& v = kv.second;
      if (!v.IsSequence()) {
        Error(kat, "expected a list");
        continue;
      }
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string iat = kat + "[" + std::to_string(i) + "]";
        if (key == "values") {
          p->add_values(NodeText(v[i]));
          continue;
        }
        if (!v[i].IsScalar()) {
          Error(iat, key == "also" ? "expected a field path" : "expected a number");
          continue;
        }
        const std::string& s = v[i].Scalar();
        if (key == "also") {
          p->add_also(s);
        } else if (key == "range") {
          StatusOr<int64_t> n = ParseInt64(s, "");
          if (n.ok()) p->add_range(*n);
          if (!n.ok()) Error(iat, n.status().message());
        } else {
          StatusOr<double> x = ParseDouble(s, "");
          if (!x.ok()) {
            Error(iat, x.status().message());
          } else if (key == "uniform") {
            p->add_uniform(*x);
          } else {
            p->add_log_uniform(*x);
          }
        }
      }
    }
  }

  std::vector<FieldError>* errors_;
};

// ------------------------------------------------------- defaults, checks

bool SpaceSetsPath(const v1::SweepSpec& s, const std::string& path) {
  for (const auto& space : s.search_space()) {
    for (const auto& p : space.parameters()) {
      if (p.path() == path) return true;
      for (const auto& a : p.also())
        if (a == path) return true;
    }
  }
  return false;
}

void ApplySweepDefaults(v1::SweepSpec* s) {
  if (!s->has_name()) s->set_name(s->base().has_name() ? s->base().name() : "sweep");
  if (!s->has_algorithm()) s->set_algorithm(v1::SEARCH_ALGORITHM_GRID);
  if (!s->has_max_concurrent_trials()) s->set_max_concurrent_trials(1);
  if (!s->objective().has_goal()) s->mutable_objective()->set_goal(v1::OBJECTIVE_GOAL_MAXIMIZE);
  auto* es = s->mutable_early_stopping();
  if (!es->has_method()) es->set_method(v1::EARLY_STOPPING_METHOD_NONE);
  if (es->method() == v1::EARLY_STOPPING_METHOD_SUCCESSIVE_HALVING) {
    if (!es->has_min_epochs()) es->set_min_epochs(1);
    if (!es->has_reduction_factor()) es->set_reduction_factor(3);
  }
  if (!s->has_seed()) s->set_seed(0);
  if (s->replicate_by().empty() && SpaceSetsPath(*s, kSeedPath)) s->add_replicate_by(kSeedPath);
}

// The number of values a parameter's domain has (grid), 0 for a
// continuous one.
int64_t DomainSize(const v1::SearchParameter& p) {
  if (p.values_size() > 0) return p.values_size();
  if (p.range_size() >= 2) {
    const int64_t start = p.range(0), stop = p.range(1), step = p.range_size() > 2 ? p.range(2) : 1;
    if (step <= 0 || stop <= start) return 0;
    return (stop - start + step - 1) / step;
  }
  return 0;
}

class SweepChecker {
 public:
  SweepChecker(const v1::SweepSpec& s, std::vector<FieldError>* errors) : s_(s), errors_(errors) {}

  void Check() {
    if (s_.search_space().empty()) Err("search_space", "required: at least one space");
    for (int i = 0; i < s_.search_space_size(); ++i) CheckSpace(i);
    if (s_.algorithm() == v1::SEARCH_ALGORITHM_RANDOM) {
      if (!s_.has_max_trials()) Err("max_trials", "required with algorithm random (the number of draws)");
    }
    if (s_.has_max_trials() && (s_.max_trials() < 1 || s_.max_trials() > kMaxSweepTrials)) {
      Err("max_trials", "must be in [1, " + std::to_string(kMaxSweepTrials) + "] (got " +
                            std::to_string(s_.max_trials()) + ")");
    }
    if (s_.max_concurrent_trials() < 1 || s_.max_concurrent_trials() > kMaxSweepTrials) {
      Err("max_concurrent_trials", "must be in [1, " + std::to_string(kMaxSweepTrials) + "] (got " +
                                       std::to_string(s_.max_concurrent_trials()) + ")");
    }
    const auto& es = s_.early_stopping();
    if (es.method() == v1::EARLY_STOPPING_METHOD_SUCCESSIVE_HALVING) {
      if (es.min_epochs() < 1)
        Err("early_stopping.min_epochs", "must be >= 1 (got " + std::to_string(es.min_epochs()) + ")");
      if (es.reduction_factor() < 2 || es.reduction_factor() > 100)
        Err("early_stopping.reduction_factor",
            "must be in [2, 100] (got " + std::to_string(es.reduction_factor()) + ")");
    } else if (es.has_min_epochs() || es.has_reduction_factor() || es.has_metric()) {
      Err("early_stopping.method",
          "must be successive_halving when min_epochs, reduction_factor or metric is set");
    }
    std::set<std::string> seen;
    for (int i = 0; i < s_.group_by_size(); ++i) {
      const std::string at = "group_by[" + std::to_string(i) + "]";
      CheckPath(at, s_.group_by(i), /*scalar_leaf=*/true);
      if (!seen.insert(s_.group_by(i)).second) Err(at, "'" + s_.group_by(i) + "' given twice");
    }
    for (int i = 0; i < s_.replicate_by_size(); ++i) {
      const std::string at = "replicate_by[" + std::to_string(i) + "]";
      const std::string& p = s_.replicate_by(i);
      if (!SpaceSetsPath(s_, p)) {
        Err(at, "'" + p + "' is not set by the search space (replicates are search parameters, e.g. " +
                    kSeedPath + ")");
      } else if (!seen.insert(p).second) {
        Err(at, "'" + p + "' is also in group_by or given twice");
      }
    }
  }

 private:
  void Err(const std::string& path, const std::string& message) { errors_->push_back({path, message}); }

  void CheckPath(const std::string& at, const std::string& path, bool scalar_leaf) {
    std::string error;
    if (ResolveJobSpecPath(path, scalar_leaf, &error) == nullptr) Err(at, error);
  }

  void CheckSpace(int i) {
    const v1::SearchSpace& space = s_.search_space(i);
    const std::string where =
        s_.search_space_size() == 1 ? "search_space" : "search_space[" + std::to_string(i) + "]";
    if (space.parameters_size() > kMaxSearchParameters) {
      Err(where, "at most " + std::to_string(kMaxSearchParameters) + " parameters per space (got " +
                     std::to_string(space.parameters_size()) + ")");
    }
    std::set<std::string> paths;
    for (const v1::SearchParameter& p : space.parameters()) {
      const std::string at = where + "." + p.path();
      std::string error;
      if (ResolveJobSpecPath(p.path(), /*scalar_leaf=*/false, &error) == nullptr) Err(at, error);
      if (p.path() == "name") Err(at, "trial names are the sweep's: '<name>-t<index>'");
      for (const std::string* path : AllPaths(p)) {
        if (!paths.insert(*path).second) Err(at, "'" + *path + "' is set twice in this space");
      }
      for (int k = 0; k < p.also_size(); ++k)
        CheckPath(at + ".also[" + std::to_string(k) + "]", p.also(k), false);
      const int domains =
          (p.values_size() > 0) + (p.range_size() > 0) + (p.uniform_size() > 0) + (p.log_uniform_size() > 0);
      if (domains != 1) {
        Err(at, domains == 0 ? "no values: give a list, or one of values, range, uniform, log_uniform"
                             : "give exactly one of values, range, uniform, log_uniform");
        continue;
      }
      if (p.values_size() > kMaxSearchValues) {
        Err(at + ".values", "at most " + std::to_string(kMaxSearchValues) + " values (got " +
                                std::to_string(p.values_size()) + ")");
      }
      if (p.range_size() > 0) {
        if (p.range_size() < 2 || p.range_size() > 3) {
          Err(at + ".range", "expected [start, stop] or [start, stop, step]");
        } else if (p.range_size() == 3 && p.range(2) <= 0) {
          Err(at + ".range", "step must be > 0 (got " + std::to_string(p.range(2)) + ")");
        } else if (p.range(1) <= p.range(0)) {
          Err(at + ".range", "stop must be > start (the range is [start, stop): got [" +
                                 std::to_string(p.range(0)) + ", " + std::to_string(p.range(1)) + "])");
        } else if (DomainSize(p) > kMaxSearchValues) {
          Err(at + ".range", "at most " + std::to_string(kMaxSearchValues) + " values (got " +
                                 std::to_string(DomainSize(p)) + ")");
        }
      }
      CheckInterval(at + ".uniform", p.uniform(), false);
      CheckInterval(at + ".log_uniform", p.log_uniform(), true);
      if ((p.uniform_size() > 0 || p.log_uniform_size() > 0) &&
          s_.algorithm() != v1::SEARCH_ALGORITHM_RANDOM) {
        Err(at, "a continuous domain needs algorithm random (a grid takes values or a range)");
      }
      if (p.values_size() > 0) CheckValues(at, p);
    }
  }

  static std::vector<const std::string*> AllPaths(const v1::SearchParameter& p) {
    std::vector<const std::string*> out = {&p.path()};
    for (const auto& a : p.also()) out.push_back(&a);
    return out;
  }

  void CheckInterval(const std::string& at, const google::protobuf::RepeatedField<double>& v, bool log) {
    if (v.empty()) return;
    if (v.size() != 2) {
      Err(at, "expected [low, high]");
    } else if (!(v[0] < v[1])) {
      Err(at, "low must be < high (got [" + FormatShortest(v[0]) + ", " + FormatShortest(v[1]) + "])");
    } else if (log && v[0] <= 0) {
      Err(at, "low must be > 0 for a log-uniform domain (got " + FormatShortest(v[0]) + ")");
    }
  }

  // Each value on its own, at each of the parameter's paths, read like a
  // job spec: a type error is reported at the value, not at every trial.
  void CheckValues(const std::string& at, const v1::SearchParameter& p) {
    for (int k = 0; k < p.values_size(); ++k) {
      StatusOr<YAML::Node> value = LoadValue(p.values(k));
      const std::string vat = at + ".values[" + std::to_string(k) + "]";
      if (!value.ok()) {
        Err(vat, value.status().message());
        continue;
      }
      for (const std::string* path : AllPaths(p)) {
        if (path->find('[') != std::string::npos) continue;  // needs the base's list; checked per trial
        YAML::Node root(YAML::NodeType::Map);
        if (!SetAtPath(root, *path, *value).ok()) continue;
        v1::JobSpec scratch;
        std::vector<FieldError> errs;
        YamlToMessage(NodeText(root), &scratch, &errs);
        for (const FieldError& e : errs) Err(vat, e.path == *path ? e.message : e.ToString());
      }
    }
  }

  const v1::SweepSpec& s_;
  std::vector<FieldError>* errors_;
};

// ------------------------------------------------------------- expansion

// A draw in [0, 1): splitmix64 (the same sequence on every platform, unlike
// the standard library's distributions).
class Draws {
 public:
  explicit Draws(int64_t seed) : state_(static_cast<uint64_t>(seed)) {}
  double Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  int64_t Below(int64_t n) {
    return std::min<int64_t>(n - 1, static_cast<int64_t>(Next() * static_cast<double>(n)));
  }

 private:
  uint64_t state_;
};

// The k-th value (grid order) of a discrete domain, as YAML text.
std::string DiscreteValue(const v1::SearchParameter& p, int64_t k) {
  if (p.values_size() > 0) return p.values(static_cast<int>(k));
  const int64_t step = p.range_size() > 2 ? p.range(2) : 1;
  return std::to_string(p.range(0) + k * step);
}

using Assignment = std::vector<std::pair<const v1::SearchParameter*, std::string>>;

std::vector<Assignment> ExpandGrid(const v1::SweepSpec& s, std::vector<FieldError>* errors) {
  int64_t total = 0;
  for (const auto& space : s.search_space()) {
    int64_t n = 1;
    for (const auto& p : space.parameters()) n = std::min<int64_t>(n * DomainSize(p), kMaxSweepTrials + 1);
    total = std::min<int64_t>(total + n, kMaxSweepTrials + 1);
  }
  const int64_t cap = s.has_max_trials() ? s.max_trials() : kMaxSweepTrials;
  if (total > cap) {
    errors->push_back(
        {"search_space", "the grid has " +
                             (total > kMaxSweepTrials ? "more than " + std::to_string(kMaxSweepTrials)
                                                      : std::to_string(total)) +
                             " trials, more than " +
                             (s.has_max_trials() ? "max_trials (" + std::to_string(cap) + ")"
                                                 : "a sweep may have (" + std::to_string(cap) + ")")});
    return {};
  }
  std::vector<Assignment> out;
  for (const auto& space : s.search_space()) {
    const int n = space.parameters_size();
    std::vector<int64_t> idx(n, 0);
    for (;;) {
      Assignment a;
      for (int i = 0; i < n; ++i)
        a.emplace_back(&space.parameters(i), DiscreteValue(space.parameters(i), idx[i]));
      out.push_back(std::move(a));
      int i = n - 1;  // the last parameter varies fastest
      while (i >= 0 && ++idx[i] == DomainSize(space.parameters(i))) idx[i--] = 0;
      if (i < 0) break;
    }
  }
  return out;
}

std::vector<Assignment> ExpandRandom(const v1::SweepSpec& s) {
  Draws draws(s.seed());
  std::vector<Assignment> out;
  for (int t = 0; t < s.max_trials(); ++t) {
    const auto& space = s.search_space(static_cast<int>(draws.Below(s.search_space_size())));
    Assignment a;
    for (const auto& p : space.parameters()) {
      std::string v;
      if (p.uniform_size() == 2) {
        v = FormatShortest(p.uniform(0) + draws.Next() * (p.uniform(1) - p.uniform(0)));
      } else if (p.log_uniform_size() == 2) {
        const double lo = std::log(p.log_uniform(0)), hi = std::log(p.log_uniform(1));
        v = FormatShortest(std::exp(lo + draws.Next() * (hi - lo)));
      } else {
        v = DiscreteValue(p, draws.Below(DomainSize(p)));
      }
      a.emplace_back(&p, v);
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::string AssignmentText(const std::vector<v1::TrialParameter>& params) {
  std::string out;
  for (const auto& p : params) out += (out.empty() ? "" : ", ") + p.path() + "=" + p.value();
  return out.empty() ? "the base spec" : out;
}

// Trial problems, each (path, message) reported once with the trials it
// affects, so a base without id_val is one line, not a thousand.
class TrialErrors {
 public:
  void Add(int trial, const std::string& params, const FieldError& e) {
    auto key = std::make_pair(e.path, e.message);
    auto it = index_.find(key);
    if (it == index_.end()) {
      index_[key] = entries_.size();
      entries_.push_back({trial, params, e, 1});
    } else {
      ++entries_[it->second].count;
    }
  }
  void AppendTo(std::vector<FieldError>* out) const {
    for (const Entry& en : entries_) {
      std::string msg = en.error.message + " [trial " + std::to_string(en.trial) + ": " + en.params;
      if (en.count > 1) msg += "; and " + std::to_string(en.count - 1) + " more trials";
      out->push_back(
          {"trials[" + std::to_string(en.trial) + "]" + (en.error.path.empty() ? "" : "." + en.error.path),
           msg + "]"});
    }
  }

 private:
  struct Entry {
    int trial;
    std::string params;
    FieldError error;
    int count;
  };
  std::map<std::pair<std::string, std::string>, size_t> index_;
  std::vector<Entry> entries_;
};

void CheckObjective(SweepLoad* load) {
  v1::SweepSpec& s = load->spec;
  if (load->trials.empty()) return;
  const v1::JobSpec& first = load->trials[0].spec;
  // The worker names an unnamed ID validation split "id_val".
  auto val_name = [](const v1::JobSpec& j) {
    return j.data().id_val().name().empty() ? std::string("id_val") : j.data().id_val().name();
  };
  if (!s.objective().has_metric()) s.mutable_objective()->set_metric(val_name(first));
  auto* es = s.mutable_early_stopping();
  const bool sh = es->method() == v1::EARLY_STOPPING_METHOD_SUCCESSIVE_HALVING;
  if (sh && !es->has_metric()) es->set_metric(s.objective().metric());
  TrialErrors errs;
  for (const TrialPlan& t : load->trials) {
    const std::string params = AssignmentText(t.parameters);
    const auto& data = t.spec.data();
    if (!data.has_id_val()) {
      errs.Add(t.index, params, {"data.id_val", "required: a sweep chooses by ID validation accuracy"});
      continue;
    }
    const std::string val = val_name(t.spec);
    for (const auto& [field, metric] : {std::make_pair("objective.metric", s.objective().metric()),
                                        std::make_pair("early_stopping.metric", es->metric())}) {
      if (metric.empty() || metric == val) continue;
      load->errors.push_back(
          {field, "'" + metric + "' is not the ID validation split of trial " + std::to_string(t.index) +
                      " (data.id_val.name is '" + val +
                      "'): a sweep chooses only by ID validation accuracy, never by test or "
                      "OOD numbers"});
      return;
    }
    if (!sh) continue;
    const int every = t.spec.schedule().eval_every_epochs();
    if (t.spec.method().name() == v1::METHOD_PRETRAIN) {
      errs.Add(
          t.index, params,
          {"method.name", "pretrain does not evaluate during training: early stopping has nothing to judge"});
      continue;
    }
    const int epochs = t.spec.schedule().epochs();
    if (epochs <= es->min_epochs()) {
      errs.Add(t.index, params,
               {"schedule.epochs", "trains " + std::to_string(epochs) +
                                       " epochs: no rung (early_stopping.min_epochs " +
                                       std::to_string(es->min_epochs()) + ") before its end"});
      continue;
    }
    for (int64_t r = es->min_epochs(); r < epochs; r *= es->reduction_factor()) {
      if (every <= 0 || r % every != 0) {
        errs.Add(t.index, params,
                 {"schedule.eval_every_epochs", "is " + std::to_string(every) +
                                                    ": the trial does not evaluate at the rung at epoch " +
                                                    std::to_string(r)});
        break;
      }
    }
  }
  errs.AppendTo(&load->errors);
}

}  // namespace

std::string SweepLoad::ErrorText() const {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

Status SweepLoadStatus(const SweepLoad& load) {
  if (load.ok()) return Status::Ok();
  std::string text = load.ErrorText();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return InvalidArgumentError(text);
}

SweepLoad NormalizeSweepSpec(const v1::SweepSpec& spec) {
  SweepLoad load;
  load.spec = spec;
  ApplySweepDefaults(&load.spec);
  const v1::SweepSpec& s = load.spec;
  SweepChecker(s, &load.errors).Check();
  if (!load.ok()) return load;
  std::vector<Assignment> assignments =
      s.algorithm() == v1::SEARCH_ALGORITHM_RANDOM ? ExpandRandom(s) : ExpandGrid(s, &load.errors);
  if (!load.ok()) return load;
  const std::string base_yaml = MessageToYaml(s.base());
  TrialErrors errs;
  for (size_t i = 0; i < assignments.size(); ++i) {
    TrialPlan t;
    t.index = static_cast<int>(i);
    for (const auto& [p, value] : assignments[i]) {
      v1::TrialParameter tp;
      tp.set_path(p->path());
      tp.set_value(value);
      t.parameters.push_back(tp);
    }
    const std::string params = AssignmentText(t.parameters);
    YAML::Node root = YAML::Load(base_yaml);
    if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
    bool ok = true;
    for (const auto& [p, value] : assignments[i]) {
      StatusOr<YAML::Node> node = LoadValue(value);
      if (!node.ok()) {
        errs.Add(t.index, params, {p->path(), node.status().message()});
        ok = false;
        continue;
      }
      std::vector<std::string> paths = {p->path()};
      paths.insert(paths.end(), p->also().begin(), p->also().end());
      for (const std::string& path : paths) {
        Status set = SetAtPath(root, path, *node);
        if (!set.ok()) {
          errs.Add(t.index, params, {path, set.message()});
          ok = false;
        }
      }
    }
    if (!ok) continue;
    root["name"] = s.name() + "-t" + std::to_string(i);
    v1::JobSpec raw;
    std::vector<FieldError> parse;
    if (!YamlToMessage(YAML::Dump(root), &raw, &parse)) {
      for (const FieldError& e : parse) errs.Add(t.index, params, e);
      continue;
    }
    SpecLoad job = NormalizeJobSpec(raw);
    for (const FieldError& e : job.errors) errs.Add(t.index, params, e);
    if (!job.ok()) continue;
    t.spec = std::move(job.spec);
    for (const std::string& g : s.group_by()) {
      StatusOr<std::string> v = FieldValueText(t.spec, g);
      t.group += (t.group.empty() ? "" : ", ") + g + "=" + (v.ok() ? *v : "-");
    }
    load.trials.push_back(std::move(t));
  }
  errs.AppendTo(&load.errors);
  if (!load.ok()) {
    load.trials.clear();
    return load;
  }
  CheckObjective(&load);
  if (!load.ok()) load.trials.clear();
  return load;
}

SweepLoad LoadSweepSpecYaml(std::string_view yaml) {
  SweepLoad load;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    load.errors.push_back({"", "YAML syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg});
    return load;
  }
  if (!root.IsMap()) {
    load.errors.push_back(
        {"", root.IsNull() ? "the sweep spec is empty" : "expected a mapping (the sweep spec)"});
    return load;
  }
  const YAML::Node space = YAML::Clone(root["search_space"]);
  root.remove("search_space");
  v1::SweepSpec raw;
  if (root.size() > 0) YamlToMessage(YAML::Dump(root), &raw, &load.errors);
  SpaceReader(&load.errors).Read(space, &raw);
  if (!load.ok()) return load;
  return NormalizeSweepSpec(raw);
}

SweepLoad LoadSweepSpecFile(const std::string& path) {
  StatusOr<std::string> yaml = ReadFileToString(path, kMaxConfigFileBytes);
  if (!yaml.ok()) {
    SweepLoad load;
    load.errors.push_back({"", "sweep spec file: " + yaml.status().message()});
    return load;
  }
  return LoadSweepSpecYaml(*yaml);
}

std::string SweepSpecToYaml(const v1::SweepSpec& spec) {
  v1::SweepSpec rest = spec;
  rest.clear_search_space();
  std::string out = rest.ByteSizeLong() > 0 ? MessageToYaml(rest) : "";
  YAML::Emitter e;
  e.SetIndent(2);
  e << YAML::BeginMap << YAML::Key << "search_space" << YAML::Value << YAML::BeginSeq;
  for (const auto& space : spec.search_space()) {
    if (space.parameters().empty()) {
      e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      continue;
    }
    e << YAML::BeginMap;
    for (const auto& p : space.parameters()) {
      e << YAML::Key << p.path() << YAML::Value;
      const bool plain =
          p.also().empty() && p.range().empty() && p.uniform().empty() && p.log_uniform().empty();
      if (plain) {
        e << YAML::Flow << YAML::BeginSeq;
        for (const auto& v : p.values()) e << YAML::Load(v);
        e << YAML::EndSeq;
        continue;
      }
      e << YAML::Flow << YAML::BeginMap;
      if (!p.values().empty()) {
        e << YAML::Key << "values" << YAML::Value << YAML::BeginSeq;
        for (const auto& v : p.values()) e << YAML::Load(v);
        e << YAML::EndSeq;
      }
      if (!p.range().empty()) {
        e << YAML::Key << "range" << YAML::Value << YAML::BeginSeq;
        for (int64_t v : p.range()) e << v;
        e << YAML::EndSeq;
      }
      for (const auto& [key, vals] :
           {std::make_pair("uniform", &p.uniform()), std::make_pair("log_uniform", &p.log_uniform())}) {
        if (vals->empty()) continue;
        e << YAML::Key << key << YAML::Value << YAML::BeginSeq;
        for (double v : *vals) e << FormatShortest(v);
        e << YAML::EndSeq;
      }
      if (!p.also().empty()) {
        e << YAML::Key << "also" << YAML::Value << YAML::BeginSeq;
        for (const auto& a : p.also()) e << a;
        e << YAML::EndSeq;
      }
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return out + e.c_str() + "\n";
}

namespace {

std::string JoinParams(const std::vector<v1::TrialParameter>& params, const std::vector<std::string>& paths,
                       bool in) {
  std::string out;
  for (const auto& p : params) {
    const bool listed = std::find(paths.begin(), paths.end(), p.path()) != paths.end();
    if (listed != in) continue;
    out += (out.empty() ? "" : ", ") + p.path() + "=" + p.value();
  }
  return out;
}

}  // namespace

std::string TrialConfigKey(const std::vector<v1::TrialParameter>& params,
                           const std::vector<std::string>& replicate_by) {
  return JoinParams(params, replicate_by, false);
}

std::string TrialReplicateKey(const std::vector<v1::TrialParameter>& params,
                              const std::vector<std::string>& replicate_by) {
  return JoinParams(params, replicate_by, true);
}

StatusOr<std::string> FieldValueText(const Message& msg, const std::string& path) {
  std::string error;
  if (msg.GetDescriptor() == v1::JobSpec::descriptor() && ResolveJobSpecPath(path, true, &error) == nullptr) {
    return InvalidArgumentError(path + ": " + error);
  }
  std::vector<Segment> segs;
  if (!SplitPath(path, &segs, &error)) return InvalidArgumentError(path + ": " + error);
  const Message* cur = &msg;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Reflection* r = cur->GetReflection();
    const FieldDescriptor* f = cur->GetDescriptor()->FindFieldByName(segs[i].name);
    if (f == nullptr) return InvalidArgumentError(path + ": unknown field '" + segs[i].name + "'");
    const int index = segs[i].index;
    if (f->is_repeated() && (index < 0 || index >= r->FieldSize(*cur, f))) return std::string("-");
    if (!f->is_repeated() && f->has_presence() && !r->HasField(*cur, f)) return std::string("-");
    if (i + 1 < segs.size()) {
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)
        return InvalidArgumentError(path + ": not a section");
      cur = f->is_repeated() ? &r->GetRepeatedMessage(*cur, f, index) : &r->GetMessage(*cur, f);
      continue;
    }
    const bool rep = f->is_repeated();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_ENUM:
        return EnumYamlName(rep ? r->GetRepeatedEnum(*cur, f, index) : r->GetEnum(*cur, f));
      case FieldDescriptor::CPPTYPE_BOOL:
        return std::string((rep ? r->GetRepeatedBool(*cur, f, index) : r->GetBool(*cur, f)) ? "true"
                                                                                            : "false");
      case FieldDescriptor::CPPTYPE_STRING:
        return rep ? r->GetRepeatedString(*cur, f, index) : r->GetString(*cur, f);
      case FieldDescriptor::CPPTYPE_INT32:
        return std::to_string(rep ? r->GetRepeatedInt32(*cur, f, index) : r->GetInt32(*cur, f));
      case FieldDescriptor::CPPTYPE_INT64:
        return std::to_string(rep ? r->GetRepeatedInt64(*cur, f, index) : r->GetInt64(*cur, f));
      case FieldDescriptor::CPPTYPE_UINT32:
        return std::to_string(rep ? r->GetRepeatedUInt32(*cur, f, index) : r->GetUInt32(*cur, f));
      case FieldDescriptor::CPPTYPE_UINT64:
        return std::to_string(rep ? r->GetRepeatedUInt64(*cur, f, index) : r->GetUInt64(*cur, f));
      case FieldDescriptor::CPPTYPE_FLOAT:
        return FormatShortest(rep ? r->GetRepeatedFloat(*cur, f, index) : r->GetFloat(*cur, f));
      case FieldDescriptor::CPPTYPE_DOUBLE:
        return FormatShortest(rep ? r->GetRepeatedDouble(*cur, f, index) : r->GetDouble(*cur, f));
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return InvalidArgumentError(path + ": a section, not a value");
    }
  }
  return InvalidArgumentError(path + ": empty path");
}

}  // namespace flyp
