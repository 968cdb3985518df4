#include "json/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace storygate::json {
namespace {

using namespace std::string_literals;

const std::string fffd = "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER

TEST(Utf8, EmptyIsValid) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_EQ(repair_utf8(""), "");
}

TEST(Utf8, AsciiIsValid) {
  EXPECT_TRUE(is_valid_utf8("Hello, world! ~\x7F"));
  EXPECT_EQ(repair_utf8("Hello, world! ~\x7F"), "Hello, world! ~\x7F");
}

TEST(Utf8, NulByteIsValidUtf8) {
  EXPECT_TRUE(is_valid_utf8("a\0b"s));
  EXPECT_EQ(repair_utf8("a\0b"s), "a\0b"s);
}

TEST(Utf8, TwoByteCharactersValid) {
  EXPECT_TRUE(is_valid_utf8("\xC2\x80"));      // U+0080, smallest
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));   // café
  EXPECT_TRUE(is_valid_utf8("\xDF\xBF"));      // U+07FF, largest
  EXPECT_EQ(repair_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(Utf8, ThreeByteCharactersValid) {
  EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80"));  // U+0800, smallest
  EXPECT_TRUE(is_valid_utf8("\xE2\x82\xAC"));  // €
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));  // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80"));  // U+E000, just above the surrogates
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBF"));  // U+FFFF
  EXPECT_EQ(repair_utf8("\xE2\x82\xAC"), "\xE2\x82\xAC");
}

TEST(Utf8, FourByteCharactersValid) {
  EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80"));  // U+10000, smallest
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));  // 😀
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, largest
  EXPECT_EQ(repair_utf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

TEST(Utf8, OverlongTwoByteRejected) {
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));  // overlong NUL
  EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));  // overlong '?'
  EXPECT_EQ(repair_utf8("\xC0\x80"), fffd + fffd);
  EXPECT_EQ(repair_utf8("a\xC1\xBF" "b"), "a" + fffd + fffd + "b");
}

TEST(Utf8, OverlongThreeAndFourByteRejected) {
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));
  EXPECT_EQ(repair_utf8("\xE0\x80\x80"), fffd + fffd + fffd);
  EXPECT_EQ(repair_utf8("\xF0\x8F\xBF\xBF"), fffd + fffd + fffd + fffd);
}

TEST(Utf8, SurrogatesRejected) {
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // U+D800
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));  // U+DFFF
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 pair
  EXPECT_EQ(repair_utf8("\xED\xA0\x80"), fffd + fffd + fffd);
}

TEST(Utf8, BeyondU10FFFFRejected) {
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xF7\xBF\xBF\xBF"));
  EXPECT_EQ(repair_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
}

TEST(Utf8, BytesNeverInUtf8Rejected) {
  for (int b : {0xC0, 0xC1, 0xF5, 0xF8, 0xFC, 0xFE, 0xFF}) {
    const std::string s(1, static_cast<char>(b));
    EXPECT_FALSE(is_valid_utf8(s)) << b;
    EXPECT_EQ(repair_utf8(s), fffd) << b;
  }
}

TEST(Utf8, LoneContinuationBytesRejected) {
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("\xBF"));
  EXPECT_FALSE(is_valid_utf8("a\x80z"));
  EXPECT_EQ(repair_utf8("a\x80z"), "a" + fffd + "z");
  EXPECT_EQ(repair_utf8("\x80\x80\x80"), fffd + fffd + fffd);
  // A valid character followed by one continuation byte too many.
  EXPECT_FALSE(is_valid_utf8("\xC3\xA9\xA9"));
  EXPECT_EQ(repair_utf8("\xC3\xA9\xA9"), "\xC3\xA9" + fffd);
}

TEST(Utf8, TruncatedSequencesRejected) {
  EXPECT_FALSE(is_valid_utf8("\xC3"));
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x98"));
  EXPECT_FALSE(is_valid_utf8("abc\xF0"));
  EXPECT_EQ(repair_utf8("abc\xC3"), "abc" + fffd);
  // Every byte of the broken sequence is replaced; no byte is swallowed.
  EXPECT_EQ(repair_utf8("\xE2\x82"), fffd + fffd);
  EXPECT_EQ(repair_utf8("\xF0\x9F\x98"), fffd + fffd + fffd);
}

TEST(Utf8, TruncatedSequenceFollowedByAsciiKeepsTheAscii) {
  EXPECT_FALSE(is_valid_utf8("\xE2\x82X"));
  EXPECT_EQ(repair_utf8("\xE2\x82X"), fffd + fffd + "X");
  EXPECT_EQ(repair_utf8("\xC3(ok)"), fffd + "(ok)");
}

TEST(Utf8, TruncatedSequenceFollowedByValidCharacterKeepsIt) {
  EXPECT_EQ(repair_utf8("\xE2\xC3\xA9"), fffd + "\xC3\xA9");
  EXPECT_EQ(repair_utf8("\xF0\x9F\xF0\x9F\x98\x80"), fffd + fffd + "\xF0\x9F\x98\x80");
}

TEST(Utf8, RepairLeavesValidTextAroundBadBytes) {
  const std::string latin1 = "Fran\xE7ois M\xFCller";  // ISO-8859-1 bytes
  EXPECT_FALSE(is_valid_utf8(latin1));
  const std::string repaired = repair_utf8(latin1);
  EXPECT_EQ(repaired, "Fran" + fffd + "ois M" + fffd + "ller");
  EXPECT_TRUE(is_valid_utf8(repaired));
}

TEST(Utf8, RepairOutputIsAlwaysValid) {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  EXPECT_FALSE(is_valid_utf8(all_bytes));
  const std::string repaired = repair_utf8(all_bytes);
  EXPECT_TRUE(is_valid_utf8(repaired));
  // In ascending order no high byte is followed by a byte that could continue
  // it, so the 128 ASCII bytes are kept and the 128 others each become U+FFFD.
  EXPECT_EQ(repaired.size(), 128u + 128u * 3u);
}

// Long ASCII runs (checked eight bytes at a time) with a bad or a good
// multi-byte sequence anywhere: valid exactly when repairing changes nothing,
// which walks one sequence at a time.
TEST(Utf8, GeneratedTextWithLongAsciiRunsIsValidExactlyWhenRepairKeepsIt) {
  const unsigned seed = 20261207;
  std::mt19937 random(seed);
  const std::vector<std::string> odd = {"\x80", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xED\xA0\x80",
                                        "\xC3", "\xFF", "\xF4\x90\x80\x80", "\xE2\x82"};
  for (int n = 0; n < 20000; ++n) {
    std::string text(random() % 40, 'a');
    for (auto& c : text) c = static_cast<char>(' ' + random() % 95);
    if (random() % 2) text.insert(random() % (text.size() + 1), odd[random() % odd.size()]);
    ASSERT_EQ(is_valid_utf8(text), repair_utf8(text) == text) << "seed " << seed << ", case " << n;
  }
}

}  // namespace
}  // namespace storygate::json
