// Fuzz target: the job spec front end (common/spec) on arbitrary text, as
// flypctl, the coordinator and flyp-worker read it. Invariants checked:
//   - no crash, no hang, no exception out of LoadJobSpecYaml;
//   - a refused spec has a non-empty error text of bounded size (every
//     quote of the input is cut, the problems are capped);
//   - an accepted spec prints (JobSpecToYaml, what the coordinator stores
//     and the worker reads back) as YAML that loads to the same spec.
// Driven by fuzz_driver.cc under gcc, or by libFuzzer (docs/development.md).
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/spec/job_spec.h"

namespace {

// 100 problems (the cap) of a field path and a bounded message each.
constexpr size_t kMaxErrorTextBytes = 64 * 1024;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "spec_fuzz: %s\n%s\n", what, detail.substr(0, 4000).c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const flyp::SpecLoad load = flyp::LoadJobSpecYaml(yaml);
  if (!load.ok()) {
    const std::string text = load.ErrorText();
    if (text.empty()) Fail("a refused spec with an empty error text", "");
    if (text.size() > kMaxErrorTextBytes) Fail("an error text over its bound", text);
    return 0;
  }
  const std::string printed = flyp::JobSpecToYaml(load.spec);
  const flyp::SpecLoad again = flyp::LoadJobSpecYaml(printed);
  if (!again.ok())
    Fail("an accepted spec prints as YAML that is refused", printed + "\n--\n" + again.ErrorText());
  if (!google::protobuf::util::MessageDifferencer::Equals(load.spec, again.spec)) {
    Fail("an accepted spec reads back as another spec", printed + "\n--\n" + flyp::JobSpecToYaml(again.spec));
  }
  return 0;
}
