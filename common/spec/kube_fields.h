// Kubernetes field syntax, shared by job-spec validation
// (resources.kubernetes), the coordinator's k8s_* defaults and the Kubernetes
// launcher, so that what flypctl accepts is what the API server accepts:
//   - resource quantities ("4", "3500m", "16Gi", "1e3"), as resource.Quantity
//     parses them, rounded up to millicores or bytes;
//   - object names (DNS-1123 subdomains: PriorityClass, Secret, scheduler);
//   - label keys (qualified names, optionally "prefix/") and label values.
// Each check returns "" when the text is valid, else what is wrong with it.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/spec/spec_yaml.h"
#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp::kube {

// Longest quantity text accepted (the API server's own limit is similar).
constexpr size_t kMaxQuantityChars = 64;
// Significant digits of a quantity's number (more cannot be held exactly).
constexpr size_t kMaxQuantityDigits = 18;
// Tolerations and node-selector entries a spec may carry.
constexpr int kMaxPlacementEntries = 32;

// A quantity in thousandths of its unit, rounded up: "250m" -> 250,
// "2" -> 2000, "1Ki" -> 1024000. INVALID_ARGUMENT for text that is not a
// quantity, negative values and values above 2^53 units.
StatusOr<int64_t> ParseQuantityMillis(std::string_view text);
// CPU in millicores ("1.5" -> 1500, "100m" -> 100).
inline StatusOr<int64_t> ParseCpuMillis(std::string_view text) { return ParseQuantityMillis(text); }
// Memory in bytes, rounded up ("16Gi" -> 17179869184, "1k" -> 1000).
StatusOr<int64_t> ParseMemoryBytes(std::string_view text);

std::string Dns1123SubdomainProblem(std::string_view name);
std::string LabelKeyProblem(std::string_view key);
std::string LabelValueProblem(std::string_view value);

// The problems of a resources.kubernetes block, each with its path under
// `path` (e.g. "resources.kubernetes.cpu_request").
void ValidateKubernetesSpec(const v1::KubernetesSpec& spec, const std::string& path,
                            std::vector<FieldError>* errors);

// The Kubernetes spelling of toleration enums ("Exists", "NoSchedule"; ""
// for unspecified).
const char* TolerationOperatorName(v1::TolerationOperator op);
const char* TaintEffectName(v1::TaintEffect effect);

}  // namespace flyp::kube
