#include "worker/train/train_state.h"

#include <fcntl.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

#include "common/file_util.h"
#include "common/json.h"
#include "common/logging.h"
#include "common/spec/spec_yaml.h"

namespace flyp::train {
namespace fs = std::filesystem;

namespace {

std::string FolderName(const TrainPosition& pos) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%08lld", static_cast<long long>(pos.step));
  return pos.stage + "-step-" + buf;
}

void Prune(const fs::path& root, const std::string& stage, const std::string& keep_latest) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    const std::string n = it->path().filename().string();
    if (it->is_directory(type_ec) && n.rfind(stage + "-step-", 0) == 0 && n.find(".tmp") == std::string::npos)
      names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  // Keep the newest two complete checkpoints (the latest and its predecessor).
  for (size_t i = 0; i + 2 < names.size(); ++i) {
    if (names[i] != keep_latest) fs::remove_all(root / names[i], ec);
  }
}

// torch::save of `value` through an AtomicFileWriter. LibTorch's stream
// writer throws when a write fails, also from its destructor, where the
// exception cannot be caught (a full disk aborted the worker). So the sink
// it is given never fails: it keeps the first error, drops what follows,
// and the error is returned once torch::save is done.
template <typename T>
Status SaveAtomically(const T& value, const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(path));
  Status error;
  const std::function<size_t(const void*, size_t)> sink = [&](const void* data, size_t n) -> size_t {
    if (error.ok()) error = w.Append(data, n);
    return n;
  };
  try {
    torch::save(value, sink);
  } catch (const c10::Error& e) {
    return InternalError("cannot serialise '" + path + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return InternalError("cannot serialise '" + path + "': " + e.what());
  }
  FLYP_RETURN_IF_ERROR(error);
  return w.Commit();
}

Status SyncDirectory(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return InternalError("cannot open " + dir.string() + ": " + std::strerror(errno));
  if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != ENOTSUP) {
    return InternalError("cannot sync " + dir.string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// Removes the temporary folder unless disarmed.
class RemoveOnFailure {
 public:
  explicit RemoveOnFailure(fs::path dir) : dir_(std::move(dir)) {}
  ~RemoveOnFailure() {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Disarm() { dir_.clear(); }

 private:
  fs::path dir_;
};

void Diff(const google::protobuf::Message& a, const google::protobuf::Message& b, const std::string& path,
          std::vector<std::string>* out) {
  using google::protobuf::FieldDescriptor;
  const auto* d = a.GetDescriptor();
  const auto* ra = a.GetReflection();
  const auto* rb = b.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string fpath = path.empty() ? f->name() : path + "." + f->name();
    if (f->is_repeated()) {
      google::protobuf::util::MessageDifferencer diff;
      diff.set_scope(google::protobuf::util::MessageDifferencer::FULL);
      std::vector<const FieldDescriptor*> only = {f};
      if (!diff.CompareWithFields(a, b, only, only)) out->push_back(fpath);
      continue;
    }
    const bool ha = ra->HasField(a, f), hb = rb->HasField(b, f);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && (ha || hb)) {
      Diff(ra->GetMessage(a, f), rb->GetMessage(b, f), fpath, out);
      continue;
    }
    google::protobuf::util::MessageDifferencer diff;
    std::vector<const FieldDescriptor*> only = {f};
    if (ha != hb || !diff.CompareWithFields(a, b, only, only)) out->push_back(fpath);
  }
}

}  // namespace

v1::JobSpec TrainingRelevantSpec(const v1::JobSpec& spec) {
  v1::JobSpec t;
  *t.mutable_model() = spec.model();
  *t.mutable_method() = spec.method();
  *t.mutable_optim() = spec.optim();
  *t.mutable_schedule() = spec.schedule();
  t.mutable_schedule()->clear_log_every_steps();
  t.mutable_schedule()->clear_eval_every_epochs();
  if (spec.data().has_train()) *t.mutable_data()->mutable_train() = spec.data().train();
  if (spec.data().has_templates()) *t.mutable_data()->mutable_templates() = spec.data().templates();
  if (spec.data().has_crop_scale_min()) t.mutable_data()->set_crop_scale_min(spec.data().crop_scale_min());
  if (spec.data().has_crop_scale_max()) t.mutable_data()->set_crop_scale_max(spec.data().crop_scale_max());
  if (spec.resources().has_precision()) t.mutable_resources()->set_precision(spec.resources().precision());
  return t;
}

std::vector<std::string> SpecDifferences(const google::protobuf::Message& a,
                                         const google::protobuf::Message& b) {
  std::vector<std::string> out;
  Diff(a, b, "", &out);
  return out;
}

StatusOr<std::string> SaveTrainCheckpoint(const std::string& dir, const TrainPosition& pos,
                                          const optim::NamedTensors& params,
                                          torch::optim::Optimizer& optimizer, const v1::JobSpec* spec) {
  auto unavailable = [](const Status& s) { return UnavailableError("checkpoint: " + s.message()); };
  fs::path root = fs::path(dir) / "checkpoints";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return UnavailableError("checkpoint: cannot create " + root.string() + ": " + ec.message());
  const std::string name = FolderName(pos);
  const fs::path tmp = root / (name + ".tmp");
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return UnavailableError("checkpoint: cannot create " + tmp.string() + ": " + ec.message());
  RemoveOnFailure cleanup(tmp);

  Json meta = Json::MakeObject();
  meta.Set("stage", Json(pos.stage));
  meta.Set("step", Json(static_cast<long long>(pos.step)));
  meta.Set("epoch", Json(static_cast<long long>(pos.epoch)));
  meta.Set("batch", Json(static_cast<long long>(pos.batch)));
  Json names = Json::MakeArray();
  std::vector<torch::Tensor> tensors;
  for (const auto& [n, t] : params) {
    names.Append(Json(n));
    tensors.push_back(t.detach().cpu());
  }
  meta.Set("names", names);
  if (spec != nullptr) meta.Set("spec", Json(MessageToYaml(TrainingRelevantSpec(*spec))));
  if (Status s = SaveAtomically(tensors, (tmp / "state.pt").string()); !s.ok()) return unavailable(s);
  if (Status s = SaveAtomically(optimizer, (tmp / "optimizer.pt").string()); !s.ok()) return unavailable(s);
  if (Status s = WriteFileAtomic((tmp / "position.json").string(), meta.Dump(2)); !s.ok())
    return unavailable(s);
  const fs::path final_dir = root / name;
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return UnavailableError("checkpoint: cannot rename " + tmp.string() + ": " + ec.message());
  cleanup.Disarm();
  if (Status s = SyncDirectory(root); !s.ok()) return unavailable(s);
  if (Status s = WriteFileAtomic((root / "latest").string(), name + "\n"); !s.ok()) return unavailable(s);
  Prune(root, pos.stage, name);
  return final_dir.string();
}

StatusOr<std::optional<TrainPosition>> LoadLatestTrainCheckpoint(const std::string& dir,
                                                                 const std::string& stage,
                                                                 const optim::NamedTensors& params,
                                                                 torch::optim::Optimizer& optimizer,
                                                                 const ResumeCheck& check) {
  fs::path root = fs::path(dir) / "checkpoints";
  StatusOr<std::string> latest = ReadFileToString((root / "latest").string(), kMaxConfigFileBytes);
  if (!latest.ok() && latest.status().code() == StatusCode::kNotFound) return std::optional<TrainPosition>();
  if (!latest.ok()) return DataLossError("checkpoint: " + latest.status().message());
  const std::string name = latest->substr(0, latest->find('\n'));
  if (name.rfind(stage + "-step-", 0) != 0) return std::optional<TrainPosition>();
  if (name.find('/') != std::string::npos || name.find("..") != std::string::npos) {
    return DataLossError("checkpoint: " + (root / "latest").string() + " names '" + name +
                         "', not a checkpoint folder");
  }
  fs::path folder = root / name;
  StatusOr<std::string> meta_text =
      ReadFileToString((folder / "position.json").string(), kMaxConfigFileBytes);
  if (!meta_text.ok()) {
    return DataLossError("checkpoint " + folder.string() +
                         " has no readable position.json: " + meta_text.status().message());
  }
  auto meta = ParseJson(*meta_text);
  if (!meta.ok())
    return DataLossError("checkpoint " + (folder / "position.json").string() + ": " +
                         meta.status().message());
  auto field = [&](const char* key, Json::Type type) -> const Json* {
    const Json* j = meta->Find(key);
    return (j != nullptr && j->type() == type) ? j : nullptr;
  };
  const Json* stage_j = field("stage", Json::Type::kString);
  const Json* step_j = field("step", Json::Type::kNumber);
  const Json* epoch_j = field("epoch", Json::Type::kNumber);
  const Json* batch_j = field("batch", Json::Type::kNumber);
  const Json* names_j = field("names", Json::Type::kArray);
  if (!stage_j || !step_j || !epoch_j || !batch_j || !names_j || !step_j->is_integer() ||
      !epoch_j->is_integer() || !batch_j->is_integer()) {
    return DataLossError("checkpoint " + (folder / "position.json").string() +
                         ": needs stage, step, epoch, batch and names");
  }
  TrainPosition pos;
  pos.stage = stage_j->as_string();
  pos.step = step_j->as_int64();
  pos.epoch = epoch_j->as_int64();
  pos.batch = batch_j->as_int64();
  if (pos.step < 0 || pos.epoch < 0 || pos.batch < 0) {
    return DataLossError("checkpoint " + (folder / "position.json").string() +
                         ": step, epoch and batch must not be negative");
  }
  if (check.spec != nullptr) {
    const Json* spec_j = field("spec", Json::Type::kString);
    if (spec_j == nullptr) {
      FLYP_LOG(WARNING) << "checkpoint " << folder.string()
                        << " records no spec (written by an older flyp-worker): resuming without "
                           "checking that it belongs to this job";
    } else {
      v1::JobSpec recorded;
      std::vector<FieldError> errors;
      if (!YamlToMessage(spec_j->as_string(), &recorded, &errors)) {
        return DataLossError("checkpoint " + (folder / "position.json").string() +
                             ": its recorded spec does not parse: " + errors.front().ToString());
      }
      const std::vector<std::string> diff = SpecDifferences(recorded, TrainingRelevantSpec(*check.spec));
      if (!diff.empty()) {
        std::string fields;
        for (size_t i = 0; i < diff.size() && i < 20; ++i) fields += (i ? ", " : "") + diff[i];
        if (diff.size() > 20) fields += ", ... (" + std::to_string(diff.size()) + " fields)";
        if (!check.anyway) {
          return FailedPreconditionError(
              "checkpoint " + folder.string() + " was written by a run with a different spec (" + fields +
              " differ): resuming would mix two runs. Use another output folder, --no-resume to start "
              "over here, or --resume-anyway to resume it with this spec");
        }
        FLYP_LOG(WARNING) << "resuming " << folder.string() << " with a different spec (" << fields
                          << " differ), as --resume-anyway asks";
      }
    }
  }
  const Json::Array& names = names_j->as_array();
  if (names.size() != params.size()) {
    return InvalidArgumentError("checkpoint " + folder.string() + " holds " + std::to_string(names.size()) +
                                " tensors, this job trains " + std::to_string(params.size()));
  }
  std::vector<torch::Tensor> tensors;
  try {
    torch::load(tensors, (folder / "state.pt").string());
    torch::load(optimizer, (folder / "optimizer.pt").string());
  } catch (const c10::Error& e) {
    return DataLossError("cannot read checkpoint " + folder.string() + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return DataLossError("cannot read checkpoint " + folder.string() + ": " + e.what());
  }
  if (tensors.size() != params.size())
    return DataLossError("checkpoint " + folder.string() + ": state.pt is incomplete");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& want = params[i].first;
    const std::string got = names[i].is_string() ? names[i].as_string() : std::string("?");
    if (got != want || !tensors[i].sizes().equals(params[i].second.sizes())) {
      return InvalidArgumentError("checkpoint " + folder.string() + ": tensor " + std::to_string(i) +
                                  " is '" + got + "', this job expects '" + want + "' with the same shape");
    }
    if (tensors[i].is_floating_point() && !torch::isfinite(tensors[i]).all().item<bool>()) {
      return DataLossError("checkpoint " + folder.string() + ": tensor '" + want +
                           "' holds NaN or infinite values; resuming from it would train on garbage");
    }
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].second.copy_(tensors[i]);
  return std::optional<TrainPosition>(pos);
}

}  // namespace flyp::train
