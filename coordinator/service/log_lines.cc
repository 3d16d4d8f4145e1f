#include "coordinator/service/log_lines.h"

#include <cctype>
#include <ctime>

#include "common/numbers.h"

namespace flyp::coord {
namespace {

constexpr size_t kCtimeChars = 24;  // "Tue Dec  1 22:15:35 2026"

// A tag found in a line of the file: text [start, end) is the prefix
// (timestamp included), `rank`, `stream` and `time` what it says.
struct Tag {
  size_t start = 0;
  size_t end = 0;
  int rank = -1;
  char stream = 'o';  // o: stdout, e: stderr, d: stddiag
  bool has_time = false;
  google::protobuf::Timestamp time;
};

// "[<digits>,<digits>]<stdout|stderr|stddiag>:" at `pos`; its length, or 0.
size_t TagLength(const std::string& s, size_t pos, int* rank, char* stream_id) {
  if (pos >= s.size() || s[pos] != '[') return 0;
  const size_t comma = s.find(',', pos);
  const size_t close = s.find(']', pos);
  if (comma == std::string::npos || close == std::string::npos || comma > close || comma == pos + 1 ||
      close == comma + 1) {
    return 0;
  }
  for (size_t i = pos + 1; i < close; ++i) {
    if (i != comma && !std::isdigit(static_cast<unsigned char>(s[i]))) return 0;
  }
  size_t end = 0;
  for (const char* stream : {"<stdout>:", "<stderr>:", "<stddiag>:"}) {
    if (s.compare(close + 1, std::char_traits<char>::length(stream), stream) == 0) {
      end = close + 1 + std::char_traits<char>::length(stream);
      *stream_id = stream[4];
    }
  }
  if (end == 0) return 0;
  // A rank too large for int32 is no tag mpirun writes.
  StatusOr<int32_t> r = ParseInt32(std::string_view(s).substr(comma + 1, close - comma - 1), "rank", 0);
  if (!r.ok()) return 0;
  *rank = *r;
  return end - pos;
}

// The ctime text ending at `end` (exclusive), as a time; false when it is not one.
bool CtimeBefore(const std::string& s, size_t end, google::protobuf::Timestamp* out) {
  if (end < kCtimeChars) return false;
  const std::string text = s.substr(end - kCtimeChars, kCtimeChars);
  if (!std::isdigit(static_cast<unsigned char>(text[kCtimeChars - 1])) || text[3] != ' ' || text[7] != ' ') {
    return false;
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%a %b %d %H:%M:%S %Y", &tm);
  if (rest == nullptr || *rest != '\0') return false;
  tm.tm_isdst = -1;  // mpirun wrote local time, as this process reads it
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return false;
  out->set_seconds(static_cast<int64_t>(t));
  out->set_nanos(0);
  return true;
}

std::vector<Tag> FindTags(const std::string& s) {
  std::vector<Tag> tags;
  for (size_t pos = s.find('['); pos != std::string::npos; pos = s.find('[', pos + 1)) {
    Tag t;
    const size_t n = TagLength(s, pos, &t.rank, &t.stream);
    if (n == 0) continue;
    t.start = pos;
    t.end = pos + n;
    if (CtimeBefore(s, pos, &t.time)) {
      t.has_time = true;
      t.start = pos - kCtimeChars;
    }
    if (!tags.empty() && t.start < tags.back().end) continue;  // inside the previous tag
    tags.push_back(t);
    pos = t.end - 1;
  }
  return tags;
}

v1::LogLine Line(int rank, std::string text, const google::protobuf::Timestamp& time) {
  v1::LogLine l;
  l.set_rank(rank);
  l.set_text(std::move(text));
  if (time.seconds() != 0) *l.mutable_time() = time;
  return l;
}

}  // namespace

std::vector<v1::LogLine> WorldLogParser::Feed(const std::string& file_line) {
  std::vector<v1::LogLine> out;
  const std::vector<Tag> tags = FindTags(file_line);
  // Untagged text before the first tag (or the whole line) is mpirun's.
  const size_t first = tags.empty() ? file_line.size() : tags.front().start;
  if (tags.empty() || first > 0) out.push_back(Line(-1, file_line.substr(0, first), last_time_));
  for (size_t k = 0; k < tags.size(); ++k) {
    const Tag& t = tags[k];
    if (t.has_time) last_time_ = t.time;
    const size_t text_end = k + 1 < tags.size() ? tags[k + 1].start : file_line.size();
    Pending& p = pending_[{t.rank, t.stream}];
    if (p.text.empty() && p.time.seconds() == 0) p.time = last_time_;
    p.text += file_line.substr(t.end, text_end - t.end);
    if (k + 1 == tags.size()) {
      out.push_back(Line(t.rank, std::move(p.text), p.time));
      pending_.erase({t.rank, t.stream});
    }
  }
  return out;
}

std::vector<v1::LogLine> WorldLogParser::Flush() {
  std::vector<v1::LogLine> out;
  for (auto& [key, p] : pending_) out.push_back(Line(key.first, std::move(p.text), p.time));
  pending_.clear();
  return out;
}

v1::LogLine ParseWorldLogLine(const std::string& line) {
  WorldLogParser parser;
  std::vector<v1::LogLine> lines = parser.Feed(line);
  for (auto& l : parser.Flush()) lines.push_back(std::move(l));
  return lines.empty() ? Line(-1, line, {}) : lines.back();
}

}  // namespace flyp::coord
