#include "worker/text/tokenizer.h"

#include <sys/stat.h>

#include <unordered_map>

#include "common/mutex.h"
#include "worker/text/text_cleanup.h"
#include "worker/text/unicode.h"
#include "worker/text/vocab_files.h"

namespace flyp::text {

// Pre-token bytes -> ids. Bounded: cleared when it reaches kMaxEntries so a
// stream of novel words cannot grow memory without limit, and words longer
// than kMaxWordBytes are not kept (at most 2^18 x 64 bytes of keys).
class Tokenizer::WordCache {
 public:
  static constexpr size_t kMaxEntries = 1 << 18;
  static constexpr size_t kMaxWordBytes = 64;

  bool Lookup(std::string_view word, std::vector<int32_t>* out) const {
    ReaderMutexLock lock(&mu_);
    auto it = map_.find(std::string(word));
    if (it == map_.end()) {
      return false;
    }
    out->insert(out->end(), it->second.begin(), it->second.end());
    return true;
  }

  void Insert(std::string_view word, std::vector<int32_t> ids) {
    WriterMutexLock lock(&mu_);
    if (map_.size() >= kMaxEntries) {
      map_.clear();
    }
    map_.emplace(std::string(word), std::move(ids));
  }

 private:
  mutable SharedMutex mu_;
  std::unordered_map<std::string, std::vector<int32_t>> map_ FLYP_GUARDED_BY(mu_);
};

namespace {

enum class PathKind { kMissing, kFile, kDirectory };

PathKind Stat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return PathKind::kMissing;
  }
  return S_ISDIR(st.st_mode) ? PathKind::kDirectory : PathKind::kFile;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

StatusOr<Tokenizer> Tokenizer::Load(const std::string& vocab) {
  if (vocab == "byte") {
    return Tokenizer(ByteLevelModel());
  }
  if (vocab.empty()) {
    return InvalidArgumentError("empty vocabulary path");
  }
  const PathKind kind = Stat(vocab);
  if (kind == PathKind::kMissing) {
    return NotFoundError("vocabulary '" + vocab + "' does not exist");
  }
  if (kind == PathKind::kDirectory || EndsWith(vocab, ".json")) {
    const std::string dir = kind == PathKind::kDirectory ? vocab : Dirname(vocab);
    const std::string json = kind == PathKind::kDirectory ? dir + "/vocab.json" : vocab;
    FLYP_ASSIGN_OR_RETURN(BpeModel model, LoadHfVocab(json, dir + "/merges.txt"));
    return Tokenizer(std::move(model));
  }
  FLYP_ASSIGN_OR_RETURN(BpeModel model, LoadClipVocab(vocab));
  return Tokenizer(std::move(model));
}

Tokenizer::Tokenizer(BpeModel model)
    : model_(std::make_shared<const BpeModel>(std::move(model))), cache_(std::make_shared<WordCache>()) {}

void Tokenizer::EncodeCleaned(std::string_view cleaned, std::vector<int32_t>* out) const {
  for (std::string_view word : PreTokenize(cleaned)) {
    if (word == kStartOfText) {
      out->push_back(sot_id());
    } else if (word == kEndOfText) {
      out->push_back(eot_id());
    } else if (word.size() > WordCache::kMaxWordBytes) {
      model_->EncodeWord(word, out);
    } else if (!cache_->Lookup(word, out)) {
      std::vector<int32_t> ids;
      model_->EncodeWord(word, &ids);
      out->insert(out->end(), ids.begin(), ids.end());
      cache_->Insert(word, std::move(ids));
    }
  }
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  EncodeCleaned(CleanText(text), &ids);
  return ids;
}

std::vector<int32_t> Tokenizer::EncodeWithMarkers(std::string_view text) const {
  std::vector<int32_t> ids{sot_id()};
  EncodeCleaned(CleanText(text), &ids);
  ids.push_back(eot_id());
  return ids;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id >= 0 && id < vocab_size()) {
      bytes += model_->TokenBytes(id);
    }
  }
  const std::string text = RepairUtf8(bytes);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kEndOfWord.size(), kEndOfWord) == 0) {
      out.push_back(' ');
      i += kEndOfWord.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

std::vector<int32_t> Tokenizer::TokenizeBatch(const std::vector<std::string>& texts,
                                              int context_length) const {
  if (context_length < 1) {
    return {};
  }
  const size_t ctx = static_cast<size_t>(context_length);
  std::vector<int32_t> out(texts.size() * ctx, 0);
  for (size_t row = 0; row < texts.size(); ++row) {
    std::vector<int32_t> ids = EncodeWithMarkers(texts[row]);
    if (ids.size() > ctx) {
      ids.resize(ctx);
      ids.back() = eot_id();
    }
    std::copy(ids.begin(), ids.end(), out.begin() + row * ctx);
  }
  return out;
}

}  // namespace flyp::text
