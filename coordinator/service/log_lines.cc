#include "coordinator/service/log_lines.h"

#include <cctype>

#include "common/numbers.h"

namespace flyp::coord {

namespace {

// srun --label: spaces, digits, ": ".
bool ParseSrunLabel(const std::string& line, v1::LogLine* out) {
  const size_t first = line.find_first_not_of(' ');
  if (first == std::string::npos || !std::isdigit(static_cast<unsigned char>(line[first]))) return false;
  size_t end = first;
  while (end < line.size() && std::isdigit(static_cast<unsigned char>(line[end]))) ++end;
  if (line.compare(end, 2, ": ") != 0) return false;
  StatusOr<int32_t> rank = ParseInt32(std::string_view(line).substr(first, end - first), "rank", 0);
  if (!rank.ok()) return false;
  out->set_rank(*rank);
  out->set_text(line.substr(end + 2));
  return true;
}

}  // namespace

v1::LogLine ParseWorldLogLine(const std::string& line) {
  v1::LogLine out;
  out.set_rank(-1);
  out.set_text(line);
  if (ParseSrunLabel(line, &out)) return out;
  if (line.empty() || line[0] != '[') return out;
  size_t comma = line.find(',');
  size_t close = line.find(']');
  if (comma == std::string::npos || close == std::string::npos || comma > close || comma == 1 ||
      close == comma + 1)
    return out;
  for (size_t i = 1; i < close; ++i) {
    if (i == comma) continue;
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return out;
  }
  size_t colon = line.find(">:", close);
  if (colon == std::string::npos || line[close + 1] != '<') return out;
  // A rank too large for int32 is no tag mpirun writes: the line stays untagged.
  StatusOr<int32_t> rank = ParseInt32(std::string_view(line).substr(comma + 1, close - comma - 1), "rank", 0);
  if (!rank.ok()) return out;
  out.set_rank(*rank);
  out.set_text(line.substr(colon + 2));
  return out;
}

}  // namespace flyp::coord
