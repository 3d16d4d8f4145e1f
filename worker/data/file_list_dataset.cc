#include "worker/data/file_list_dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

#include "common/confine.h"
#include "common/numbers.h"
#include "worker/data/csv.h"
#include "worker/data/decode.h"

namespace flyp::data {
namespace fs = std::filesystem;
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsImageName(const std::string& name) {
  const std::string ext = Lower(fs::path(name).extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// A label written as a class index: 1 to 9 digits ("-1", "+1", "1e3" are
// class names).
std::optional<int64_t> LabelIndex(const std::string& s) {
  if (s.size() >= 10 || s.empty() || s[0] == '-') return std::nullopt;
  StatusOr<int64_t> v = ParseInt64(s, "label", 0);
  return v.ok() ? std::optional<int64_t>(*v) : std::nullopt;
}

// Rows of a two-column CSV (header dropped), paths resolved.
StatusOr<std::vector<CsvRow>> ReadTwoColumnCsv(const std::string& csv_path) {
  FLYP_ASSIGN_OR_RETURN(std::string text, ReadInputFile(csv_path, kMaxCsvFileBytes));
  StatusOr<std::vector<CsvRow>> parsed = ParseCsv(text);
  if (!parsed.ok()) return parsed.status().WithContext("CSV '" + csv_path + "'");
  std::vector<CsvRow> rows = std::move(parsed).value();
  if (!rows.empty()) {
    const std::string first = Lower(rows[0].fields[0]);
    if (first == "path" || first == "file" || first == "filename" || first == "image")
      rows.erase(rows.begin());
  }
  const fs::path base = fs::path(csv_path).parent_path();
  for (CsvRow& row : rows) {
    const std::string where = "CSV '" + csv_path + "' line " + std::to_string(row.line);
    if (row.fields.size() != 2) {
      return InvalidArgumentError(where + ": expected 2 fields (path and label/caption), got " +
                                  std::to_string(row.fields.size()));
    }
    if (row.fields[0].empty()) return InvalidArgumentError(where + ": empty path");
    fs::path p(row.fields[0]);
    if (p.is_relative()) row.fields[0] = (base / p).string();
  }
  return rows;
}

}  // namespace

StatusOr<Example> FileListDataset::Get(int64_t i) const {
  const FileEntry& e = entries_[static_cast<size_t>(i)];
  Example ex;
  FLYP_ASSIGN_OR_RETURN(ex.image, DecodeImageFile(e.path));
  ex.label = e.label;
  ex.caption = e.caption;
  return ex;
}

StatusOr<std::unique_ptr<FileListDataset>> OpenImageFolder(const std::string& dir,
                                                           std::vector<std::string> class_names) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return NotFoundError("image folder '" + dir + "' does not exist or is not a directory");
  // The folder itself must be inside the data roots; each image is checked
  // again when it is read.
  FLYP_RETURN_IF_ERROR(OpenInput(dir, O_RDONLY | O_DIRECTORY).status());
  std::vector<std::string> classes;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] != '.' && it->is_directory(ec)) classes.push_back(name);
  }
  if (ec) return InvalidArgumentError("image folder '" + dir + "': " + ec.message());
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) return InvalidArgumentError("image folder '" + dir + "' has no class sub-folders");
  if (classes.size() > static_cast<size_t>(kMaxClasses)) {
    return InvalidArgumentError("image folder '" + dir + "' has " + std::to_string(classes.size()) +
                                " class sub-folders, more than the limit of " + std::to_string(kMaxClasses));
  }
  if (!class_names.empty() && class_names.size() != classes.size()) {
    return InvalidArgumentError("image folder '" + dir + "' has " + std::to_string(classes.size()) +
                                " class folders but " + std::to_string(class_names.size()) +
                                " class names were given");
  }
  std::vector<FileEntry> entries;
  for (size_t c = 0; c < classes.size(); ++c) {
    const fs::path class_dir = fs::path(dir) / classes[c];
    std::vector<std::string> files;
    for (fs::directory_iterator it(class_dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] != '.' && IsImageName(name) && !it->is_directory(ec))
        files.push_back(name);
    }
    if (ec) return InvalidArgumentError("image folder '" + class_dir.string() + "': " + ec.message());
    if (files.empty()) {
      return InvalidArgumentError("image folder class '" + classes[c] + "' (" + class_dir.string() +
                                  ") has no .jpg/.jpeg/.png files");
    }
    std::sort(files.begin(), files.end());
    for (const std::string& f : files)
      entries.push_back({(class_dir / f).string(), static_cast<int64_t>(c), ""});
  }
  if (class_names.empty()) class_names = classes;
  return std::make_unique<FileListDataset>(std::move(entries), std::move(class_names));
}

StatusOr<std::unique_ptr<FileListDataset>> OpenCsvLabels(const std::string& csv_path,
                                                         std::vector<std::string> class_names) {
  FLYP_ASSIGN_OR_RETURN(std::vector<CsvRow> rows, ReadTwoColumnCsv(csv_path));
  if (class_names.empty()) {
    const bool all_int = std::all_of(rows.begin(), rows.end(),
                                     [](const CsvRow& r) { return LabelIndex(r.fields[1]).has_value(); });
    if (all_int) {
      const CsvRow* max_row = nullptr;
      int64_t max_label = -1;
      for (const CsvRow& r : rows) {
        const int64_t k = *LabelIndex(r.fields[1]);
        if (k > max_label) {
          max_label = k;
          max_row = &r;
        }
      }
      if (max_label >= kMaxClasses) {
        return InvalidArgumentError("CSV '" + csv_path + "' line " + std::to_string(max_row->line) +
                                    ": label index " + std::to_string(max_label) + " asks for " +
                                    std::to_string(max_label + 1) + " classes, more than the limit of " +
                                    std::to_string(kMaxClasses));
      }
      for (int64_t k = 0; k <= max_label; ++k) class_names.push_back(std::to_string(k));
    } else {
      for (const CsvRow& r : rows) class_names.push_back(r.fields[1]);
      std::sort(class_names.begin(), class_names.end());
      class_names.erase(std::unique(class_names.begin(), class_names.end()), class_names.end());
    }
  }
  if (class_names.size() > static_cast<size_t>(kMaxClasses)) {
    return InvalidArgumentError("CSV '" + csv_path + "': " + std::to_string(class_names.size()) +
                                " classes, more than the limit of " + std::to_string(kMaxClasses));
  }
  std::map<std::string, int64_t> index;
  for (size_t k = 0; k < class_names.size(); ++k) index.emplace(class_names[k], static_cast<int64_t>(k));
  std::vector<FileEntry> entries;
  entries.reserve(rows.size());
  for (const CsvRow& r : rows) {
    const std::string& label = r.fields[1];
    int64_t y;
    if (auto it = index.find(label); it != index.end()) {
      y = it->second;
    } else if (std::optional<int64_t> k = LabelIndex(label)) {
      y = *k;
      if (y >= static_cast<int64_t>(class_names.size())) {
        return InvalidArgumentError("CSV '" + csv_path + "' line " + std::to_string(r.line) +
                                    ": label index " + label + " is out of range for " +
                                    std::to_string(class_names.size()) + " classes");
      }
    } else {
      return InvalidArgumentError("CSV '" + csv_path + "' line " + std::to_string(r.line) +
                                  ": unknown class name '" + QuoteForError(label) + "'");
    }
    entries.push_back({r.fields[0], y, ""});
  }
  return std::make_unique<FileListDataset>(std::move(entries), std::move(class_names));
}

StatusOr<std::unique_ptr<FileListDataset>> OpenCsvCaptions(const std::string& csv_path) {
  FLYP_ASSIGN_OR_RETURN(std::vector<CsvRow> rows, ReadTwoColumnCsv(csv_path));
  std::vector<FileEntry> entries;
  entries.reserve(rows.size());
  for (CsvRow& r : rows) entries.push_back({std::move(r.fields[0]), -1, std::move(r.fields[1])});
  return std::make_unique<FileListDataset>(std::move(entries), std::vector<std::string>{});
}

}  // namespace flyp::data
