#include "json/plain_text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace storygate::json {
namespace {

using namespace std::string_literals;

// The rule itself, one byte at a time: the oracle for the word-at-a-time
// version.
bool plain_by_bytes(std::string_view text) {
  for (const char c : text)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

TEST(PlainText, PrintableAsciiIsPlain) {
  EXPECT_TRUE(is_plain_text(""));
  EXPECT_TRUE(is_plain_text("Amanda Grover, Seattle WA 98101 ~!#$%&'()*+-./:;<=>?@[]^_`{|}"));
}

TEST(PlainText, EveryByteThatNeedsEscapingOrIsNotAsciiIsFoundAtEveryPosition) {
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    const bool plain = plain_by_bytes(std::string(1, c));
    for (std::size_t position = 0; position < 19; ++position) {
      std::string text(19, 'a');
      text[position] = c;
      EXPECT_EQ(is_plain_text(text), plain) << "byte " << byte << " at " << position;
    }
  }
}

// Strings of every length up to 40, their bytes drawn mostly from either side
// of each boundary of the rule (0x1F/0x20, the quote, the backslash,
// 0x7E/0x7F, 0x80, 0xFF) so that borrows and carries between the bytes of a
// word meet every neighbour.
TEST(PlainText, AgreesWithTheByteByByteRuleOnGeneratedText) {
  const unsigned seed = 20261207;
  std::mt19937 random(seed);
  const std::string edges = "\x00\x01\x1f\x20\x21\x22\x23\x5b\x5c\x5d\x7e\x7f\x80\x81\xfe\xff"s;
  for (int i = 0; i < 50000; ++i) {
    const std::size_t length = random() % 41;
    const bool mostly_plain = random() % 2 == 0;
    std::string text;
    for (std::size_t k = 0; k < length; ++k) {
      const auto pick = random() % 100;
      if (mostly_plain && pick < 97)
        text += static_cast<char>(0x20 + random() % 95);
      else if (pick < 60)
        text += edges[random() % edges.size()];
      else
        text += static_cast<char>(random() % 256);
    }
    ASSERT_EQ(is_plain_text(text), plain_by_bytes(text)) << "seed " << seed << ", case " << i;
  }
}

}  // namespace
}  // namespace storygate::json
