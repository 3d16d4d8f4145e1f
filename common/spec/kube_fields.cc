#include "common/spec/kube_fields.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/numbers.h"

namespace flyp::kube {
namespace {

constexpr int64_t kMaxUnits = int64_t{1} << 53;

bool Alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// value * 10^exp10 * 2^exp2 * 10^3 (when millis), rounded up, as an integer.
StatusOr<int64_t> Scale(std::string_view text, unsigned __int128 digits, int exp10, int exp2, bool millis) {
  using U = unsigned __int128;
  const U cap = static_cast<U>(kMaxUnits) * (millis ? 1000 : 1);
  auto too_large = [&] { return InvalidArgumentError("quantity '" + std::string(text) + "' is too large"); };
  U n = digits;
  for (int i = 0; i < exp2; ++i) {
    n <<= 1;
    if (n > cap) return too_large();
  }
  int e = exp10 + (millis ? 3 : 0);
  if (n == 0) return int64_t{0};
  if (e >= 0) {
    for (int i = 0; i < e; ++i) {
      n *= 10;
      if (n > cap) return too_large();
    }
    if (n > cap) return too_large();
    return static_cast<int64_t>(n);
  }
  if (-e > 36) return int64_t{1};  // a positive value below one unit rounds up to one
  U denom = 1;
  for (int i = 0; i < -e; ++i) denom *= 10;
  U q = n / denom + (n % denom != 0 ? 1 : 0);
  if (q > cap) return too_large();
  return static_cast<int64_t>(q);
}

StatusOr<int64_t> Parse(std::string_view text, bool millis) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("'" + std::string(text) + "' is not a Kubernetes quantity (" + why +
                                "; e.g. 4, 500m, 16Gi)");
  };
  if (text.empty()) return bad("empty");
  if (text.size() > kMaxQuantityChars) return bad("longer than " + std::to_string(kMaxQuantityChars));
  size_t i = 0;
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') negative = text[i++] == '-';
  std::string sig;  // significant digits, leading zeros dropped
  int frac = 0;
  bool any_digit = false, dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    any_digit = true;
    if (dot) ++frac;
    if (sig.empty() && c == '0') continue;
    sig += c;
  }
  if (!any_digit) return bad("no number");
  // Trailing fraction zeros carry no value; drop them so they do not count
  // against the digit budget.
  while (frac > 0 && !sig.empty() && sig.back() == '0') {
    sig.pop_back();
    --frac;
  }
  if (sig.size() > kMaxQuantityDigits) return bad("more than 18 significant digits");
  unsigned __int128 digits = 0;
  for (char c : sig) digits = digits * 10 + static_cast<unsigned>(c - '0');
  if (negative && digits != 0) return bad("negative");
  std::string_view suffix = text.substr(i);
  int exp10 = -frac, exp2 = 0;
  static const std::pair<std::string_view, int> kBinary[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                             {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  static const std::pair<std::string_view, int> kDecimal[] = {{"n", -9}, {"u", -6}, {"m", -3}, {"", 0},
                                                              {"k", 3},  {"M", 6},  {"G", 9},  {"T", 12},
                                                              {"P", 15}, {"E", 18}};
  bool matched = false;
  for (const auto& [s, e] : kBinary) {
    if (suffix == s) exp2 = e, matched = true;
  }
  for (const auto& [s, e] : kDecimal) {
    if (!matched && suffix == s) exp10 += e, matched = true;
  }
  if (!matched && (suffix[0] == 'e' || suffix[0] == 'E') && suffix.size() > 1) {
    std::string_view ex = suffix.substr(1);
    bool neg = false;
    if (ex[0] == '+' || ex[0] == '-') neg = ex[0] == '-', ex.remove_prefix(1);
    if (auto v = ParseInt32(ex, "exponent", 0, 999); v.ok()) {
      exp10 += neg ? -*v : *v;
      matched = true;
    }
  }
  if (!matched) return bad("unknown suffix '" + std::string(suffix) + "'");
  return Scale(text, digits, exp10, exp2, millis);
}

std::string NameProblem(std::string_view s, size_t max) {
  if (s.empty()) return "must not be empty";
  if (s.size() > max) return "must be at most " + std::to_string(max) + " characters";
  if (!Alnum(s.front()) || !Alnum(s.back())) return "must begin and end with a letter or digit";
  for (char c : s) {
    if (!Alnum(c) && c != '-' && c != '_' && c != '.')
      return "may contain only letters, digits, '-', '_' and '.'";
  }
  return "";
}

}  // namespace

StatusOr<int64_t> ParseQuantityMillis(std::string_view text) { return Parse(text, /*millis=*/true); }
StatusOr<int64_t> ParseMemoryBytes(std::string_view text) { return Parse(text, /*millis=*/false); }

std::string Dns1123SubdomainProblem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 253) return "must be at most 253 characters";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || !LowerAlnum(label.front()) || !LowerAlnum(label.back()) ||
        !std::all_of(label.begin(), label.end(), [](char c) { return LowerAlnum(c) || c == '-'; })) {
      return "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', each dot-separated "
             "part beginning and ending with a letter or digit";
    }
    start = end + 1;
  }
  return "";
}

std::string LabelKeyProblem(std::string_view key) {
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (std::string p = Dns1123SubdomainProblem(key.substr(0, slash)); !p.empty()) return "prefix " + p;
    key = key.substr(slash + 1);
  }
  if (std::string p = NameProblem(key, 63); !p.empty()) return "name " + p;
  return "";
}

std::string LabelValueProblem(std::string_view value) {
  if (value.empty()) return "";
  return NameProblem(value, 63);
}

const char* TolerationOperatorName(v1::TolerationOperator op) {
  switch (op) {
    case v1::TOLERATION_OPERATOR_EQUAL:
      return "Equal";
    case v1::TOLERATION_OPERATOR_EXISTS:
      return "Exists";
    default:
      return "";
  }
}

const char* TaintEffectName(v1::TaintEffect effect) {
  switch (effect) {
    case v1::TAINT_EFFECT_NO_SCHEDULE:
      return "NoSchedule";
    case v1::TAINT_EFFECT_PREFER_NO_SCHEDULE:
      return "PreferNoSchedule";
    case v1::TAINT_EFFECT_NO_EXECUTE:
      return "NoExecute";
    default:
      return "";
  }
}

void ValidateKubernetesSpec(const v1::KubernetesSpec& k, const std::string& path,
                            std::vector<FieldError>* errors) {
  auto err = [&](const std::string& field, const std::string& msg) {
    errors->push_back({path + "." + field, msg});
  };
  if (k.node_selector_size() > kMaxPlacementEntries)
    err("node_selector", "at most " + std::to_string(kMaxPlacementEntries) + " entries");
  for (const auto& [key, value] : k.node_selector()) {
    const std::string at = "node_selector[" + key + "]";
    if (std::string p = LabelKeyProblem(key); !p.empty()) err(at, "label key " + p);
    if (std::string p = LabelValueProblem(value); !p.empty()) err(at, "label value " + p);
  }
  if (k.tolerations_size() > kMaxPlacementEntries)
    err("tolerations", "at most " + std::to_string(kMaxPlacementEntries) + " entries");
  for (int i = 0; i < k.tolerations_size(); ++i) {
    const v1::Toleration& t = k.tolerations(i);
    const std::string at = "tolerations[" + std::to_string(i) + "]";
    const bool exists = t.operator_() == v1::TOLERATION_OPERATOR_EXISTS;
    if (!t.key().empty()) {
      if (std::string p = LabelKeyProblem(t.key()); !p.empty()) err(at + ".key", p);
    } else if (!exists) {
      err(at + ".key", "required unless operator is exists (which then tolerates every taint)");
    }
    if (exists && !t.value().empty()) err(at + ".value", "must be empty when operator is exists");
    if (!exists) {
      if (std::string p = LabelValueProblem(t.value()); !p.empty()) err(at + ".value", p);
    }
    if (t.has_toleration_seconds() && t.effect() != v1::TAINT_EFFECT_NO_EXECUTE)
      err(at + ".toleration_seconds", "only applies to effect no_execute");
  }
  auto name = [&](const std::string& field, const std::string& value) {
    if (std::string p = Dns1123SubdomainProblem(value); !p.empty()) err(field, p + " (got '" + value + "')");
  };
  if (k.has_priority_class()) name("priority_class", k.priority_class());
  if (k.has_scheduler_name()) name("scheduler_name", k.scheduler_name());
  if (k.has_scheduling_queue()) name("scheduling_queue", k.scheduling_queue());
  std::set<std::string> secrets;
  for (int i = 0; i < k.image_pull_secrets_size(); ++i) {
    const std::string at = "image_pull_secrets[" + std::to_string(i) + "]";
    name(at, k.image_pull_secrets(i));
    if (!secrets.insert(k.image_pull_secrets(i)).second) err(at, "given twice");
  }
  auto quantity = [&](const std::string& field, bool has, const std::string& text, bool memory,
                      int64_t* out) {
    if (!has) return;
    auto v = memory ? ParseMemoryBytes(text) : ParseCpuMillis(text);
    if (!v.ok()) return err(field, std::string(v.status().message()));
    if (*v <= 0) return err(field, "must be > 0 (got '" + text + "')");
    *out = *v;
  };
  int64_t cpu_req = 0, cpu_lim = 0, mem_req = 0, mem_lim = 0;
  quantity("cpu_request", k.has_cpu_request(), k.cpu_request(), false, &cpu_req);
  quantity("cpu_limit", k.has_cpu_limit(), k.cpu_limit(), false, &cpu_lim);
  quantity("memory_request", k.has_memory_request(), k.memory_request(), true, &mem_req);
  quantity("memory_limit", k.has_memory_limit(), k.memory_limit(), true, &mem_lim);
  if (cpu_req > 0 && cpu_lim > 0 && cpu_req > cpu_lim)
    err("cpu_request", "must not exceed cpu_limit (" + k.cpu_request() + " > " + k.cpu_limit() + ")");
  if (mem_req > 0 && mem_lim > 0 && mem_req > mem_lim)
    err("memory_request",
        "must not exceed memory_limit (" + k.memory_request() + " > " + k.memory_limit() + ")");
}

}  // namespace flyp::kube
