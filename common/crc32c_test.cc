#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace flyp {
namespace {

// Bit-at-a-time CRC32C straight from the definition, as the reference for
// the table-driven one.
uint32_t Reference(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

TEST(Crc32cTest, KnownValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the standard check value
  EXPECT_EQ(Crc32c(""), 0u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xff.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(Crc32cTest, EveryLengthAndSplitMatchesTheReference) {
  std::string s;
  for (int i = 0; i < 300; ++i) s += static_cast<char>((i * 131 + 7) & 0xff);
  for (size_t n = 0; n <= s.size(); ++n) {
    const std::string prefix = s.substr(0, n);
    ASSERT_EQ(Crc32c(prefix), Reference(prefix)) << n;
    const size_t cut = n / 3;
    ASSERT_EQ(Crc32cExtend(Crc32c(prefix.data(), cut), prefix.data() + cut, n - cut), Reference(prefix)) << n;
  }
}

TEST(Crc32cTest, MaskIsTensorFlowsRotation) {
  // masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8
  EXPECT_EQ(MaskCrc32c(0), 0xa282ead8u);
  EXPECT_EQ(MaskCrc32c(0xE3069283u), ((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xa282ead8u);
}

}  // namespace
}  // namespace flyp
