#include "worker/train/train_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json.h"

namespace flyp::train {
namespace fs = std::filesystem;

Status WriteFileAtomic(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return InternalError("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      ::close(fd);
      return InternalError("cannot write " + tmp + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return InternalError("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

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
  std::ifstream latest(root / "latest");
  if (!latest) return std::optional<TrainPosition>();
  std::string name;
  std::getline(latest, name);
  if (name.rfind(stage + "-step-", 0) != 0) return std::optional<TrainPosition>();
  fs::path folder = root / name;
  std::ifstream meta_in(folder / "position.json");
  if (!meta_in) return DataLossError("checkpoint " + folder.string() + " has no position.json");
  std::stringstream ss;
  ss << meta_in.rdbuf();
  auto meta = ParseJson(ss.str());
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
