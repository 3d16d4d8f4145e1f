// Prompt templates for zero-shot heads and FLYP's class-conditioned
// captions: "a photo of a {}." with the class name in place of "{}".
//
// Thread safety: pure functions; the builtin lists are immutable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp::text {

// The most templates a job may use (the zero-shot head encodes every class
// with every template): the spec's data.templates.custom allows as many
// (kMaxCustomTemplates), a template file too.
inline constexpr size_t kMaxTemplates = 1024;

// {"a photo of a {}."}
const std::vector<std::string>& SimpleTemplates();
// The 80 ImageNet templates of OpenAI's CLIP prompt-engineering notebook,
// in its order ("a bad photo of a {}." ... "a tattoo of the {}.").
const std::vector<std::string>& OpenAiImageNetTemplates();

// Resolves a TemplateSpec:
//  * builtin "simple" (the default when nothing is set) or "openai_imagenet";
//  * builtin "custom", or builtin unset with `custom`/`file` given: the
//    `custom` list, or the file (one template per line; trailing empty lines
//    ignored, a blank line between templates is an error).
// Every template must contain "{}" exactly once; at most kMaxTemplates.
// Errors (InvalidArgument, NotFound for a missing file) name the field or
// file:line and the template.
StatusOr<std::vector<std::string>> LoadTemplates(const flyp::v1::TemplateSpec& spec);

// The template with its first "{}" replaced by class_name (a template
// without "{}" is returned unchanged).
std::string FillTemplate(std::string_view templ, std::string_view class_name);

// Class names, one per line (index = label). Trailing empty lines are
// ignored; a blank line or a repeated name elsewhere is an InvalidArgument
// naming file:line; an empty file is an error too.
StatusOr<std::vector<std::string>> LoadClassNames(const std::string& path);

}  // namespace flyp::text
