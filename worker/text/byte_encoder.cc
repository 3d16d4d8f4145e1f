#include "worker/text/byte_encoder.h"

#include "worker/text/unicode.h"

namespace flyp::text {
namespace {

struct Tables {
  std::array<uint8_t, 256> order{};
  std::array<int, 256> index{};
  std::array<char32_t, 256> to_unicode{};
  std::array<std::string, 256> symbol;
  std::array<int, 512> from_unicode{};  // every mapped code point is < 512

  Tables() {
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      if (printable(b)) {
        order[n++] = static_cast<uint8_t>(b);
      }
    }
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      if (!printable(b)) {
        order[n++] = static_cast<uint8_t>(b);
        to_unicode[b] = 256 + extra++;
      } else {
        to_unicode[b] = static_cast<char32_t>(b);
      }
    }
    from_unicode.fill(-1);
    for (int b = 0; b < 256; ++b) {
      index[order[b]] = b;
      from_unicode[to_unicode[b]] = b;
      AppendUtf8(to_unicode[b], &symbol[b]);
    }
  }
};

const Tables& T() {
  static const Tables tables;
  return tables;
}

}  // namespace

const std::array<uint8_t, 256>& BytesInVocabOrder() { return T().order; }
int ByteVocabIndex(uint8_t b) { return T().index[b]; }
char32_t ByteToUnicode(uint8_t b) { return T().to_unicode[b]; }
const std::string& ByteSymbol(uint8_t b) { return T().symbol[b]; }

int UnicodeToByte(char32_t cp) { return cp < 512 ? T().from_unicode[cp] : -1; }

std::string BytesToSymbols(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += T().symbol[b];
  }
  return out;
}

std::string SymbolsToBytes(std::string_view symbols) {
  std::string out;
  out.reserve(symbols.size());
  for (size_t pos = 0; pos < symbols.size();) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8(symbols, &pos);
    const int b = UnicodeToByte(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(symbols.substr(start, pos - start));
    }
  }
  return out;
}

}  // namespace flyp::text
