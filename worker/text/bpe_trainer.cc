#include "worker/text/bpe_trainer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <queue>
#include <unordered_map>

#include "common/file_util.h"
#include "worker/text/bpe_model.h"
#include "worker/text/byte_encoder.h"
#include "worker/text/text_cleanup.h"
#include "worker/text/vocab_files.h"

namespace flyp::text {
namespace {

using PairKey = uint64_t;
PairKey Key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t Left(PairKey k) { return static_cast<int32_t>(k >> 32); }
int32_t Right(PairKey k) { return static_cast<int32_t>(k & 0xFFFFFFFFu); }

struct Word {
  std::vector<int32_t> symbols;
  int64_t freq;
};

class Trainer {
 public:
  explicit Trainer(std::vector<Word> words) : words_(std::move(words)), heap_(Compare{&text_}) {
    for (uint8_t b : BytesInVocabOrder()) {
      text_.push_back(ByteSymbol(b));
    }
    for (uint8_t b : BytesInVocabOrder()) {
      text_.push_back(ByteSymbol(b) + std::string(kEndOfWord));
    }
    for (size_t i = 0; i < text_.size(); ++i) {
      id_of_[text_[i]] = static_cast<int32_t>(i);
    }
    for (size_t w = 0; w < words_.size(); ++w) {
      const auto& s = words_[w].symbols;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const PairKey k = Key(s[i], s[i + 1]);
        counts_[k] += words_[w].freq;
        AddWord(k, static_cast<int32_t>(w));
      }
    }
    for (const auto& [k, c] : counts_) {
      heap_.push({c, k});
    }
    stamp_.assign(words_.size(), -1);
  }

  MergeList Run(int num_merges, int64_t min_frequency) {
    MergeList merges;
    while (static_cast<int>(merges.size()) < num_merges && !heap_.empty()) {
      const Entry top = heap_.top();
      heap_.pop();
      auto it = counts_.find(top.pair);
      if (it == counts_.end() || it->second != top.count) {
        continue;  // stale entry
      }
      if (top.count < min_frequency) {
        break;
      }
      merges.emplace_back(text_[Left(top.pair)], text_[Right(top.pair)]);
      Merge(top.pair, static_cast<int>(merges.size()));
    }
    return merges;
  }

 private:
  struct Entry {
    int64_t count;
    PairKey pair;
  };
  // Max-heap order: higher count first, then the smaller (left, right) text.
  struct Compare {
    const std::vector<std::string>* text;
    bool operator()(const Entry& x, const Entry& y) const {
      if (x.count != y.count) {
        return x.count < y.count;
      }
      const std::string& xl = (*text)[Left(x.pair)];
      const std::string& yl = (*text)[Left(y.pair)];
      if (xl != yl) {
        return xl > yl;
      }
      return (*text)[Right(x.pair)] > (*text)[Right(y.pair)];
    }
  };

  void AddWord(PairKey k, int32_t w) {
    auto& list = where_[k];
    if (list.empty() || list.back() != w) {
      list.push_back(w);
    }
  }

  void Count(const std::vector<int32_t>& s, int64_t delta) {
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const PairKey k = Key(s[i], s[i + 1]);
      int64_t& c = counts_[k];
      c += delta;
      changed_.push_back(k);
    }
  }

  void Merge(PairKey pair, int merge_index) {
    const int32_t a = Left(pair), b = Right(pair);
    // Symbols are identified by their text: "a bc" and "ab c" both make "abc".
    const std::string joined = text_[a] + text_[b];
    auto [found, inserted] = id_of_.emplace(joined, static_cast<int32_t>(text_.size()));
    const int32_t merged = found->second;
    if (inserted) {
      text_.push_back(joined);
    }
    changed_.clear();
    const std::vector<int32_t> holders = std::move(where_[pair]);
    where_.erase(pair);
    std::vector<int32_t> next;
    for (int32_t w : holders) {
      if (stamp_[w] == merge_index) {
        continue;  // listed twice
      }
      stamp_[w] = merge_index;
      Word& word = words_[w];
      auto& s = word.symbols;
      next.clear();
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          next.push_back(merged);
          i += 2;
        } else {
          next.push_back(s[i++]);
        }
      }
      if (next.size() == s.size()) {
        continue;  // stale listing
      }
      Count(s, -word.freq);
      Count(next, word.freq);
      s.swap(next);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] == merged || s[i + 1] == merged) {
          AddWord(Key(s[i], s[i + 1]), w);
        }
      }
    }
    std::sort(changed_.begin(), changed_.end());
    changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
    for (PairKey k : changed_) {
      auto it = counts_.find(k);
      if (it->second <= 0) {
        counts_.erase(it);
      } else {
        heap_.push({it->second, k});
      }
    }
  }

  std::vector<Word> words_;
  std::vector<std::string> text_;                   // symbol id -> text
  std::unordered_map<std::string, int32_t> id_of_;  // text -> symbol id
  std::unordered_map<PairKey, int64_t> counts_;
  std::unordered_map<PairKey, std::vector<int32_t>> where_;  // words that may hold the pair
  std::priority_queue<Entry, std::vector<Entry>, Compare> heap_;
  std::vector<int> stamp_;
  std::vector<PairKey> changed_;
};

}  // namespace

StatusOr<MergeList> LearnBpeMerges(const std::vector<std::string>& corpus, int num_merges,
                                   int min_frequency) {
  if (num_merges < 0 || num_merges > kMaxClipMerges) {
    return InvalidArgumentError("num_merges must be in [0, " + std::to_string(kMaxClipMerges) + "], got " +
                                std::to_string(num_merges));
  }
  if (min_frequency < 1) {
    return InvalidArgumentError("min_frequency must be >= 1, got " + std::to_string(min_frequency));
  }
  // Ordered map: word ids (and so every later step) do not depend on hashing.
  std::map<std::string, int64_t> counts;
  for (const std::string& caption : corpus) {
    const std::string cleaned = CleanText(caption);
    for (std::string_view w : PreTokenize(cleaned)) {
      if (w == kStartOfText || w == kEndOfText) {
        continue;
      }
      ++counts[std::string(w)];
    }
  }
  if (counts.empty()) {
    return InvalidArgumentError("the corpus holds no words");
  }
  std::vector<Word> words;
  words.reserve(counts.size());
  for (const auto& [bytes, freq] : counts) {
    Word w{{}, freq};
    for (size_t i = 0; i < bytes.size(); ++i) {
      const int id = ByteVocabIndex(static_cast<uint8_t>(bytes[i]));
      w.symbols.push_back(i + 1 < bytes.size() ? id : id + 256);
    }
    words.push_back(std::move(w));
  }
  return Trainer(std::move(words)).Run(num_merges, min_frequency);
}

Status WriteClipVocab(const std::string& path, const MergeList& merges) {
  std::string out = "#version: 0.2\n";
  for (size_t i = 0; i < merges.size(); ++i) {
    for (const std::string* t : {&merges[i].first, &merges[i].second}) {
      if (t->empty() || t->find_first_of(" \t\r\n\v\f") != std::string::npos) {
        return InvalidArgumentError("merge " + std::to_string(i + 1) +
                                    " has an empty token or "
                                    "one holding whitespace: '" +
                                    *t + "'");
      }
    }
    out += merges[i].first + " " + merges[i].second + "\n";
  }
  return WriteFileAtomic(path, out);
}

}  // namespace flyp::text
