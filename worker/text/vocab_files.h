// Loading BPE vocabularies from disk into a BpeModel.
//
// Formats:
//  * CLIP merges file (bpe_simple_vocab_16e6.txt[.gz]): a header line
//    ("#version: 0.2"), then one merge "left right" per line. Only the first
//    kMaxClipMerges merges are read (the reference reads
//    merges[1:49152-256-2+1]); ids are 256 byte symbols, the same with
//    "</w>", one per merge (the joined text), then <|startoftext|> and
//    <|endoftext|>. A plain file or gzip (detected from the content).
//  * HuggingFace vocab.json (token -> id) + merges.txt (same format as
//    above, same cap): ids come from vocab.json.
//  * The byte-level vocabulary: a CLIP vocabulary with no merges (514 ids).
//
// All functions are thread-safe; errors name the file and, for a bad merge
// line, the line number.
#pragma once

#include <string>

#include "common/file_util.h"
#include "common/status.h"
#include "worker/text/bpe_model.h"

namespace flyp::text {

inline constexpr int kMaxClipMerges = 49152 - 256 - 2;  // 48,894

// The largest vocabulary file read (after gunzip): CLIP's merges are 1.6 MB,
// a HuggingFace vocab.json about 2 MB. Files are read with
// ReadMaybeGzipFile (common/file_util.h): plain or gzip, NOT_FOUND when
// missing, DATA_LOSS when the gzip stream is corrupt.
inline constexpr size_t kMaxVocabFileBytes = 64 * kMiB;

// Parses the merges of a CLIP/HF merges file's content. Skips the header
// (line 1, which must contain "#version"), stops at kMaxClipMerges or at trailing empty
// lines; a line without exactly two space-separated parts, or an empty line
// followed by more merges, is an InvalidArgument naming `path` and the line.
StatusOr<std::vector<BpeModel::Merge>> ParseMerges(const std::string& content, const std::string& path);

// The CLIP id layout for `merges` (see above).
std::vector<std::string> ClipVocabTokens(const std::vector<BpeModel::Merge>& merges);

StatusOr<BpeModel> LoadClipVocab(const std::string& path);
StatusOr<BpeModel> LoadHfVocab(const std::string& vocab_json_path, const std::string& merges_path);
BpeModel ByteLevelModel();

}  // namespace flyp::text
