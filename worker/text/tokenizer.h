// The CLIP BPE tokenizer, matching OpenAI CLIP's simple_tokenizer id for id
// (except ftfy's mojibake repair): cleanup and pre-tokenisation
// (text_cleanup.h), byte-level BPE (bpe_model.h), ids framed by
// <|startoftext|> ... <|endoftext|> and zero-padded to the context length.
//
// Thread safety: a Tokenizer is immutable apart from its word cache, which is
// guarded by a reader/writer lock; every const method may be called from any
// number of threads at once (loader threads share one tokenizer). Copies are
// cheap and share the vocabulary and the cache.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/text/bpe_model.h"

namespace flyp::text {

class Tokenizer {
 public:
  // CLIP's text context length.
  static constexpr int kDefaultContextLength = 77;

  // `vocab` is one of
  //  * "byte": the byte-level vocabulary (512 byte tokens, SOT=512, EOT=513);
  //  * a directory, or a path ending in ".json": a HuggingFace vocab.json
  //    (the directory's, or the file) with merges.txt beside it;
  //  * otherwise a CLIP merges file, plain or gzip (bpe_simple_vocab_16e6.txt.gz
  //    or what train-bpe writes).
  // Errors: NotFound for a missing file, InvalidArgument/DataLoss naming the
  // file (and line) for an empty or corrupt vocabulary.
  static StatusOr<Tokenizer> Load(const std::string& vocab);

  explicit Tokenizer(BpeModel model);

  // Token ids of `text`, without SOT/EOT. A literal "<|startoftext|>" or
  // "<|endoftext|>" in the text maps to the special id, as in the reference.
  std::vector<int32_t> Encode(std::string_view text) const;
  // SOT, Encode(text), EOT.
  std::vector<int32_t> EncodeWithMarkers(std::string_view text) const;

  // The reference decoder: token texts joined, bytes restored, malformed
  // UTF-8 replaced by U+FFFD, every "</w>" turned into a space (so decoded
  // words end with a space). SOT/EOT decode to their literal text. Ids
  // outside [0, vocab_size()) are skipped; padding is not: id 0 is "!", so
  // strip padding before decoding a TokenizeBatch row.
  std::string Decode(const std::vector<int32_t>& ids) const;

  // Row-major [texts.size(), context_length] ids: SOT, tokens, EOT, then
  // zeros. A text too long for the context is cut and its last position set
  // to EOT (so EOT, the largest id, always marks where the model pools).
  // Precondition: context_length >= 1 (returns an empty vector otherwise).
  std::vector<int32_t> TokenizeBatch(const std::vector<std::string>& texts,
                                     int context_length = kDefaultContextLength) const;

  int32_t sot_id() const { return model_->sot_id(); }
  int32_t eot_id() const { return model_->eot_id(); }
  int32_t vocab_size() const { return model_->vocab_size(); }
  const BpeModel& model() const { return *model_; }

 private:
  class WordCache;

  void EncodeCleaned(std::string_view cleaned, std::vector<int32_t>* out) const;

  std::shared_ptr<const BpeModel> model_;
  std::shared_ptr<WordCache> cache_;
};

}  // namespace flyp::text
