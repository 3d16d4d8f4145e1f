#include "worker/text/templates.h"

#include <unordered_map>

#include "common/confine.h"
#include "common/file_util.h"
#include "common/numbers.h"

namespace flyp::text {
namespace {

size_t CountPlaceholders(std::string_view t) {
  size_t n = 0;
  for (size_t pos = t.find("{}"); pos != std::string_view::npos; pos = t.find("{}", pos + 2)) {
    ++n;
  }
  return n;
}

bool IsBlank(std::string_view s) { return s.find_first_not_of(" \t\r\v\f") == std::string_view::npos; }

struct Line {
  std::string text;
  int number;
};

// Non-empty lines of a file ('\r' stripped); trailing blank lines dropped,
// any other blank line is an error naming `what`.
StatusOr<std::vector<Line>> ReadLines(const std::string& path, const std::string& what, size_t max_lines) {
  StatusOr<std::string> text = ReadInputFile(path, kMaxConfigFileBytes);
  if (!text.ok()) {
    return text.status().WithContext(what + " file");
  }
  std::vector<Line> lines;
  int number = 0, first_blank = 0;
  for (size_t start = 0; start < text->size();) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) {
      end = text->size();
    }
    std::string line = text->substr(start, end - start);
    start = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (IsBlank(line)) {
      if (first_blank == 0) {
        first_blank = number;
      }
      continue;
    }
    if (first_blank != 0) {
      return InvalidArgumentError(path + ":" + std::to_string(first_blank) + ": blank line in " + what +
                                  " file");
    }
    if (lines.size() >= max_lines) {
      return InvalidArgumentError(what + " file '" + path + "' has more than " + std::to_string(max_lines) +
                                  " lines");
    }
    lines.push_back({std::move(line), number});
  }
  if (lines.empty()) {
    return InvalidArgumentError(what + " file '" + path + "' is empty");
  }
  return lines;
}

Status CheckTemplate(const std::string& t, const std::string& where) {
  const size_t n = CountPlaceholders(t);
  if (n != 1) {
    return InvalidArgumentError(where + ": template '" + QuoteForError(t) +
                                "' must contain '{}' exactly once (has " + std::to_string(n) + ")");
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& SimpleTemplates() {
  static const std::vector<std::string> t = {"a photo of a {}."};
  return t;
}

const std::vector<std::string>& OpenAiImageNetTemplates() {
  static const std::vector<std::string> t = {
      "a bad photo of a {}.",
      "a photo of many {}.",
      "a sculpture of a {}.",
      "a photo of the hard to see {}.",
      "a low resolution photo of the {}.",
      "a rendering of a {}.",
      "graffiti of a {}.",
      "a bad photo of the {}.",
      "a cropped photo of the {}.",
      "a tattoo of a {}.",
      "the embroidered {}.",
      "a photo of a hard to see {}.",
      "a bright photo of a {}.",
      "a photo of a clean {}.",
      "a photo of a dirty {}.",
      "a dark photo of the {}.",
      "a drawing of a {}.",
      "a photo of my {}.",
      "the plastic {}.",
      "a photo of the cool {}.",
      "a close-up photo of a {}.",
      "a black and white photo of the {}.",
      "a painting of the {}.",
      "a painting of a {}.",
      "a pixelated photo of the {}.",
      "a sculpture of the {}.",
      "a bright photo of the {}.",
      "a cropped photo of a {}.",
      "a plastic {}.",
      "a photo of the dirty {}.",
      "a jpeg corrupted photo of a {}.",
      "a blurry photo of the {}.",
      "a photo of the {}.",
      "a good photo of the {}.",
      "a rendering of the {}.",
      "a {} in a video game.",
      "a photo of one {}.",
      "a doodle of a {}.",
      "a close-up photo of the {}.",
      "a photo of a {}.",
      "the origami {}.",
      "the {} in a video game.",
      "a sketch of a {}.",
      "a doodle of the {}.",
      "a origami {}.",
      "a low resolution photo of a {}.",
      "the toy {}.",
      "a rendition of the {}.",
      "a photo of the clean {}.",
      "a photo of a large {}.",
      "a rendition of a {}.",
      "a photo of a nice {}.",
      "a photo of a weird {}.",
      "a blurry photo of a {}.",
      "a cartoon {}.",
      "art of a {}.",
      "a sketch of the {}.",
      "a embroidered {}.",
      "a pixelated photo of a {}.",
      "itap of the {}.",
      "a jpeg corrupted photo of the {}.",
      "a good photo of a {}.",
      "a plushie {}.",
      "a photo of the nice {}.",
      "a photo of the small {}.",
      "a photo of the weird {}.",
      "the cartoon {}.",
      "art of the {}.",
      "a drawing of the {}.",
      "a photo of the large {}.",
      "a black and white photo of a {}.",
      "the plushie {}.",
      "a dark photo of a {}.",
      "itap of a {}.",
      "graffiti of the {}.",
      "a toy {}.",
      "itap of my {}.",
      "a photo of a cool {}.",
      "a photo of a small {}.",
      "a tattoo of the {}.",
  };
  return t;
}

StatusOr<std::vector<std::string>> LoadTemplates(const flyp::v1::TemplateSpec& spec) {
  const bool has_custom = spec.custom_size() > 0;
  const bool has_file = spec.has_file() && !spec.file().empty();
  std::string builtin = spec.has_builtin() ? spec.builtin() : "";
  if (builtin.empty()) {
    builtin = (has_custom || has_file) ? "custom" : "simple";
  }
  if (builtin == "simple" || builtin == "openai_imagenet") {
    if (has_custom || has_file) {
      return InvalidArgumentError("templates: builtin '" + builtin +
                                  "' cannot be combined with templates.custom or templates.file");
    }
    return builtin == "simple" ? SimpleTemplates() : OpenAiImageNetTemplates();
  }
  if (builtin != "custom") {
    return InvalidArgumentError("templates.builtin: unknown value '" + QuoteForError(builtin) +
                                "' (expected simple, openai_imagenet or custom)");
  }
  if (has_custom == has_file) {
    return InvalidArgumentError(
        "templates: builtin 'custom' needs exactly one of templates.custom and templates.file");
  }
  std::vector<std::string> out;
  if (has_custom) {
    if (static_cast<size_t>(spec.custom_size()) > kMaxTemplates) {
      return InvalidArgumentError("templates.custom: " + std::to_string(spec.custom_size()) +
                                  " templates, more than the limit of " + std::to_string(kMaxTemplates));
    }
    for (int i = 0; i < spec.custom_size(); ++i) {
      FLYP_RETURN_IF_ERROR(CheckTemplate(spec.custom(i), "templates.custom[" + std::to_string(i) + "]"));
      out.push_back(spec.custom(i));
    }
    return out;
  }
  FLYP_ASSIGN_OR_RETURN(auto lines, ReadLines(spec.file(), "templates", kMaxTemplates));
  for (const Line& l : lines) {
    FLYP_RETURN_IF_ERROR(CheckTemplate(l.text, spec.file() + ":" + std::to_string(l.number)));
    out.push_back(l.text);
  }
  return out;
}

std::string FillTemplate(std::string_view templ, std::string_view class_name) {
  const size_t pos = templ.find("{}");
  if (pos == std::string_view::npos) {
    return std::string(templ);
  }
  std::string out;
  out.reserve(templ.size() + class_name.size());
  out.append(templ.substr(0, pos));
  out.append(class_name);
  out.append(templ.substr(pos + 2));
  return out;
}

StatusOr<std::vector<std::string>> LoadClassNames(const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(auto lines, ReadLines(path, "class names", 65536));
  std::unordered_map<std::string, int> seen;
  std::vector<std::string> names;
  names.reserve(lines.size());
  for (const Line& l : lines) {
    auto [it, inserted] = seen.emplace(l.text, l.number);
    if (!inserted) {
      return InvalidArgumentError(path + ":" + std::to_string(l.number) + ": class name '" + l.text +
                                  "' repeats line " + std::to_string(it->second));
    }
    names.push_back(l.text);
  }
  return names;
}

}  // namespace flyp::text
