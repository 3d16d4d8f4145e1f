#include "coordinator/spec_paths.h"

#include <filesystem>
#include <vector>

#include "common/numbers.h"

namespace flyp::coord {
namespace fs = std::filesystem;
namespace {

// `p` (absolute) with every symlink resolved, like realpath(3), but a
// missing tail is kept as written: a symlink whose target does not exist
// (yet) is still followed, so one that dangles now cannot point outside the
// roots later without being seen here. (fs::weakly_canonical stops at the
// first component that does not exist, a dangling link included.) The
// worker checks again when it opens the file (common/confine.h).
fs::path ResolveLinks(const fs::path& p) {
  std::vector<std::string> todo;  // components still to walk, last first
  for (const auto& c : p.relative_path()) todo.insert(todo.begin(), c.string());
  fs::path out = "/";
  int hops = 0;
  while (!todo.empty()) {
    const std::string c = todo.back();
    todo.pop_back();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      out = out.parent_path();
      continue;
    }
    const fs::path next = out / c;
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(next, ec);
    if (ec || !fs::is_symlink(st) || ++hops > 40) {
      out = next;  // a real component, a missing one (kept as written), or a link loop
      continue;
    }
    const fs::path target = fs::read_symlink(next, ec);
    if (ec) {
      out = next;
      continue;
    }
    if (target.is_absolute()) out = "/";
    std::vector<std::string> parts;
    for (const auto& t : target.relative_path()) parts.push_back(t.string());
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
  }
  return out.lexically_normal();
}

bool Inside(const fs::path& p, const fs::path& root) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // trailing "/" of the root
    if (q == p.end() || *q != *r) return false;
  }
  return true;
}

}  // namespace

Status ResolveSpecPaths(const std::vector<std::string>& data_roots, v1::JobSpec* spec) {
  std::vector<fs::path> roots;
  for (const auto& r : data_roots) {
    std::error_code ec;
    roots.push_back(ResolveLinks(fs::absolute(r, ec)));
  }
  v1::JobSpec out = *spec;
  std::string errors;
  auto resolve = [&](const std::string& field, std::string* value) {
    if (value->empty()) return;
    if (roots.empty()) {
      errors += field + ": path '" + QuoteForError(*value) +
                "' refused: the coordinator has no data roots configured\n";
      return;
    }
    fs::path p(*value);
    if (p.is_relative()) p = roots.front() / p;
    const fs::path canon = ResolveLinks(p);
    for (const auto& root : roots) {
      if (Inside(canon, root)) {
        *value = canon.string();
        return;
      }
    }
    std::string list;
    for (const auto& r : roots) list += (list.empty() ? "" : ", ") + r.string();
    errors += field + ": path '" + QuoteForError(*value) + "' is outside the data roots (" + list + ")\n";
  };
  auto* m = out.mutable_model();
  if (m->has_checkpoint()) resolve("model.checkpoint", m->mutable_checkpoint());
  if (m->has_vocab() && m->vocab() != "byte") resolve("model.vocab", m->mutable_vocab());
  auto source = [&](const std::string& name, v1::DataSource* d) {
    if (d->has_path()) resolve("data." + name + ".path", d->mutable_path());
    if (d->has_class_names_file())
      resolve("data." + name + ".class_names_file", d->mutable_class_names_file());
  };
  auto* data = out.mutable_data();
  if (data->has_train()) source("train", data->mutable_train());
  if (data->has_id_val()) source("id_val", data->mutable_id_val());
  if (data->has_id_test()) source("id_test", data->mutable_id_test());
  for (int i = 0; i < data->ood_size(); ++i) source("ood[" + std::to_string(i) + "]", data->mutable_ood(i));
  if (data->has_templates() && data->templates().has_file()) {
    resolve("data.templates.file", data->mutable_templates()->mutable_file());
  }
  if (!errors.empty()) return InvalidArgumentError(errors);
  *spec = std::move(out);
  return Status::Ok();
}

}  // namespace flyp::coord
