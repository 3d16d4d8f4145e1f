#include "common/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace flyp {
namespace {

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

StatusLine::StatusLine(std::FILE* out, Mode mode) : out_(out) {
  const int fd = out != nullptr ? ::fileno(out) : -1;
  switch (mode) {
    case Mode::kRedraw:
      redraw_ = true;
      break;
    case Mode::kLines:
      redraw_ = false;
      break;
    case Mode::kAuto:
      redraw_ = fd >= 0 && ::isatty(fd) == 1;
      break;
  }
  winsize ws{};
  if (mode == Mode::kAuto && redraw_ && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) {
    columns_ = ws.ws_col - 1;
  }
}

StatusLine::~StatusLine() { Finish(); }

void StatusLine::Update(const std::string& text) {
  if (!redraw_ || out_ == nullptr) return;
  // One write per redraw (stderr is unbuffered; mpirun tags every write).
  const std::string line = "\r" + FitColumns(text, columns_) + "\x1b[K";
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
  live_ = true;
}

void StatusLine::Print(const std::string& text) {
  if (out_ == nullptr) return;
  std::string line = live_ ? "\r\x1b[K" : "";
  line += text + "\n";
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
  live_ = false;
}

void StatusLine::Finish() {
  if (!live_ || out_ == nullptr) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  live_ = false;
}

std::string FitColumns(const std::string& text, int columns) {
  if (columns <= 0) return "";
  if (CodePoints(text) <= static_cast<size_t>(columns)) return text;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (n == static_cast<size_t>(columns)) break;
      ++n;
    }
    out += text[i];
  }
  return out;
}

std::string ProgressBar(double fraction, const std::string& text, int columns) {
  static const char* const kEighths[] = {"",       "\u258F", "\u258E", "\u258D",
                                         "\u258C", "\u258B", "\u258A", "\u2589"};
  // The bar's width depends on the terminal only, not on the text, so it
  // does not jump as the numbers after it grow; 80 columns are left for
  // the percentage and the text.
  const int width = std::clamp(columns - 80, 10, 40);
  std::string out;
  if (fraction >= 0 && std::isfinite(fraction)) {
    fraction = std::min(fraction, 1.0);
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%4d%% ", static_cast<int>(std::floor(fraction * 100)));
    out += pct;
    const int eighths = static_cast<int>(std::floor(fraction * width * 8));
    const int full = eighths / 8;
    for (int i = 0; i < full; ++i) out += "\u2588";
    int cells = full;
    if (full < width && eighths % 8 != 0) {
      out += kEighths[eighths % 8];
      ++cells;
    }
    out += std::string(static_cast<size_t>(width - cells), ' ');
    out += "  ";
  }
  out += text;
  return FitColumns(out, columns);
}

std::string FormatBytes(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%.0f B", bytes);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", bytes, kUnits[unit]);
  }
  return buf;
}

}  // namespace flyp
