// Live progress on a terminal, plain lines everywhere else: the one
// implementation behind flyp-worker's console output, `flypctl watch` and
// `flypctl download`.
//
//   StatusLine line(stderr);                  // redraws when stderr is a terminal
//   if (line.redraws()) line.Update(ProgressBar(0.37, "step 148/400 · loss 2.31", line.columns()));
//   else line.Print("step 148/400 loss 2.31");
//   line.Print("zero-shot · id_test 76.8 %");  // a permanent line above the live one
//
// On a terminal the live line is redrawn in place ("\r", the text cut to
// columns(), erase to the end of the line) and permanent lines
// replace it and are printed above the next redraw; it never wraps, so a
// redraw never scrolls. Elsewhere Update() writes nothing: callers print
// plain lines, one per event, so logs and pipes get no control characters.
//
// Thread safety: not synchronised (callers that share one serialise).
#pragma once

#include <cstdio>
#include <string>

namespace flyp {

class StatusLine {
 public:
  enum class Mode {
    kAuto,    // redraw when `out` is a terminal
    kRedraw,  // always redraw (tests; columns() is then 99)
    kLines,   // never redraw
  };
  explicit StatusLine(std::FILE* out, Mode mode = Mode::kAuto);
  // Ends a live line with a newline.
  ~StatusLine();
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  bool redraws() const { return redraw_; }
  // The width a live line may use: the terminal's (TIOCGWINSZ, read once;
  // 100 when unknown) less one column, since a line that fills the last
  // column makes some terminals wrap and the next "\r" redraw one line low.
  int columns() const { return columns_; }

  // Redraws the live line (nothing when !redraws()).
  void Update(const std::string& text);
  // A permanent line: replaces a live line, which the next Update redraws below.
  void Print(const std::string& text);
  // Ends the live line with a newline (it stays on screen).
  void Finish();

 private:
  std::FILE* out_;
  bool redraw_;
  int columns_ = 99;
  bool live_ = false;  // a live line is on screen without its newline
};

// "  37% ██████████████▊                         step 148/400 · loss 2.31"
// at most `columns` characters wide: the percentage, a bar of eighth-block
// characters (columns - 80 cells, at least 10, at most 40: a width that
// does not change with the text) and `text`, cut to fit; fraction is
// clamped to [0, 1]; a negative fraction (unknown) draws no bar.
std::string ProgressBar(double fraction, const std::string& text, int columns);

// `text` cut to at most `columns` characters (UTF-8 aware: a cut never
// splits a character); characters are assumed one cell wide.
std::string FitColumns(const std::string& text, int columns);

// "12.3 MiB", "512 B", "1.5 GiB".
std::string FormatBytes(double bytes);

}  // namespace flyp
