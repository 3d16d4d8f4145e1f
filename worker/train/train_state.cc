#include "worker/train/train_state.h"

#include <algorithm>
#include <filesystem>

#include "common/file_util.h"
#include "common/json.h"

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
  for (const auto& e : fs::directory_iterator(root, ec)) {
    std::string n = e.path().filename().string();
    if (e.is_directory() && n.rfind(stage + "-step-", 0) == 0) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  // Keep the newest two complete checkpoints (the latest and its predecessor).
  for (size_t i = 0; i + 2 < names.size(); ++i) {
    if (names[i] != keep_latest) fs::remove_all(root / names[i], ec);
  }
}

}  // namespace

StatusOr<std::string> SaveTrainCheckpoint(const std::string& dir, const TrainPosition& pos,
                                          const optim::NamedTensors& params,
                                          torch::optim::Optimizer& optimizer) {
  fs::path root = fs::path(dir) / "checkpoints";
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return InternalError("cannot create " + root.string() + ": " + ec.message());
  const std::string name = FolderName(pos);
  fs::path tmp = root / (name + ".tmp");
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return InternalError("cannot create " + tmp.string() + ": " + ec.message());

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
  try {
    torch::save(tensors, (tmp / "state.pt").string());
    torch::save(optimizer, (tmp / "optimizer.pt").string());
  } catch (const std::exception& e) {
    return InternalError("cannot write checkpoint " + tmp.string() + ": " + e.what());
  }
  FLYP_RETURN_IF_ERROR(WriteFileAtomic((tmp / "position.json").string(), meta.Dump(2)));
  fs::path final_dir = root / name;
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return InternalError("cannot rename " + tmp.string() + ": " + ec.message());
  FLYP_RETURN_IF_ERROR(WriteFileAtomic((root / "latest").string(), name + "\n"));
  Prune(root, pos.stage, name);
  return final_dir.string();
}

StatusOr<std::optional<TrainPosition>> LoadLatestTrainCheckpoint(const std::string& dir,
                                                                 const std::string& stage,
                                                                 const optim::NamedTensors& params,
                                                                 torch::optim::Optimizer& optimizer) {
  fs::path root = fs::path(dir) / "checkpoints";
  StatusOr<std::string> latest = ReadFileToString((root / "latest").string(), kMaxConfigFileBytes);
  if (!latest.ok() && latest.status().code() == StatusCode::kNotFound) return std::optional<TrainPosition>();
  if (!latest.ok()) return DataLossError("checkpoint: " + latest.status().message());
  const std::string name = latest->substr(0, latest->find('\n'));
  if (name.rfind(stage + "-step-", 0) != 0) return std::optional<TrainPosition>();
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
  const Json::Array& names = names_j->as_array();
  if (names.size() != params.size()) {
    return InvalidArgumentError("checkpoint " + folder.string() + " holds " + std::to_string(names.size()) +
                                " tensors, this job trains " + std::to_string(params.size()));
  }
  std::vector<torch::Tensor> tensors;
  try {
    torch::load(tensors, (folder / "state.pt").string());
    torch::load(optimizer, (folder / "optimizer.pt").string());
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
    params[i].second.copy_(tensors[i]);
  }
  return std::optional<TrainPosition>(pos);
}

}  // namespace flyp::train
