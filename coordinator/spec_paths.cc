#include "coordinator/spec_paths.h"

#include <filesystem>

namespace flyp::coord {
namespace fs = std::filesystem;
namespace {

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
    roots.push_back(fs::weakly_canonical(fs::absolute(r), ec));
  }
  v1::JobSpec out = *spec;
  std::string errors;
  auto resolve = [&](const std::string& field, std::string* value) {
    if (value->empty()) return;
    if (roots.empty()) {
      errors += field + ": path '" + *value + "' refused: the coordinator has no data roots configured\n";
      return;
    }
    fs::path p(*value);
    if (p.is_relative()) p = roots.front() / p;
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(p, ec);
    if (ec) canon = p.lexically_normal();
    for (const auto& root : roots) {
      if (Inside(canon, root)) {
        *value = canon.string();
        return;
      }
    }
    std::string list;
    for (const auto& r : roots) list += (list.empty() ? "" : ", ") + r.string();
    errors += field + ": path '" + *value + "' is outside the data roots (" + list + ")\n";
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
