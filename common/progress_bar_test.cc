#include "common/progress_bar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace flyp {
namespace {

// Everything a StatusLine wrote to a memory stream.
class Captured {
 public:
  Captured() : f_(open_memstream(&buf_, &size_)) {}
  ~Captured() {
    if (f_ != nullptr) std::fclose(f_);
    std::free(buf_);
  }
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  size_t size_ = 0;
  std::FILE* f_;
};

std::string Repeat(const char* s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(ProgressBarTest, BarFillsInEighthsAndFitsTheWidth) {
  // The bar takes columns - 80 cells (10 to 40), whatever the text.
  // 37% of 10 cells = 29.6 eighths: 3 full cells and 5/8 of the fourth.
  std::string bar = ProgressBar(0.37, std::string(80, 'x'), 60);
  EXPECT_EQ(bar.rfind("  37% " + Repeat("\u2588", 3) + "\u258B      ", 0), 0u) << bar;
  EXPECT_EQ(FitColumns(bar, 60), bar);  // the text is cut to fit
  EXPECT_EQ(ProgressBar(1.0, "done", 100), " 100% " + Repeat("\u2588", 20) + "  done");
  EXPECT_EQ(ProgressBar(0.5, "a much longer text", 100).substr(0, 6 + 10 * 3 + 10),
            "  50% " + Repeat("\u2588", 10) + std::string(10, ' '));
  EXPECT_EQ(ProgressBar(0, "x", 30), "   0% " + std::string(10, ' ') + "  x");
  EXPECT_EQ(ProgressBar(0.5, "x", 200),
            "  50% " + Repeat("\u2588", 20) + std::string(20, ' ') + "  x");  // 40 at most
  EXPECT_EQ(ProgressBar(-1, "unknown", 30), "unknown");
  EXPECT_EQ(ProgressBar(2.5, "", 20).rfind(" 100%", 0), 0u);
}

TEST(ProgressBarTest, FitColumnsNeverSplitsACharacter) {
  EXPECT_EQ(FitColumns("abc", 5), "abc");
  EXPECT_EQ(FitColumns("abcdef", 3), "abc");
  EXPECT_EQ(FitColumns("\u00b7\u00b7\u00b7", 2), "\u00b7\u00b7");
  EXPECT_EQ(FitColumns("x", 0), "");
}

TEST(ProgressBarTest, RedrawsInPlaceOnATerminalAndPrintsLinesOtherwise) {
  Captured tty;
  {
    StatusLine line(tty.file(), StatusLine::Mode::kRedraw);
    line.Update("step 1");
    line.Update("step 2");
    line.Print("eval 50 %");
    line.Update("step 3");
  }
  EXPECT_EQ(tty.text(), "\rstep 1\x1b[K\rstep 2\x1b[K\r\x1b[Keval 50 %\n\rstep 3\x1b[K\n");
  Captured pipe;
  {
    StatusLine line(pipe.file());  // a memory stream is no terminal
    EXPECT_FALSE(line.redraws());
    line.Update("step 1");
    line.Print("step 1");
    line.Print("eval 50 %");
  }
  EXPECT_EQ(pipe.text(), "step 1\neval 50 %\n");
}

TEST(ProgressBarTest, Bytes) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(12.3 * 1024 * 1024), "12.3 MiB");
}

}  // namespace
}  // namespace flyp
