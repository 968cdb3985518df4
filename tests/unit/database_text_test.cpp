// db/database_text: a legacy database's bytes as UTF-8, each byte with no
// character as U+FFFD. Here against tables written out by hand and against
// Latin-1, whose bytes are their code points; the integration test
// (legacy_encodings_test) holds every byte of several encodings to
// PostgreSQL's own conversion.
#include "db/database_text.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace storygate::db {
namespace {

const std::string replacement = "\xEF\xBF\xBD";

// Latin-1's byte b is code point b, written as UTF-8 by hand.
std::string latin1_as_utf8(unsigned char b) {
  if (b < 0x80) return std::string(1, static_cast<char>(b));
  return {static_cast<char>(0xC0 | (b >> 6)), static_cast<char>(0x80 | (b & 0x3F))};
}

TEST(DatabaseText, Latin1EveryByteIsItsCodePoint) {
  database_text text("LATIN1");
  std::string all, expected;
  for (int b = 1; b < 256; ++b) {
    all += static_cast<char>(b);
    expected += latin1_as_utf8(static_cast<unsigned char>(b));
  }
  EXPECT_EQ(text.to_utf8(all), expected);
}

TEST(DatabaseText, Win1252UndefinedBytesBecomeOneReplacementEach) {
  database_text text("WIN1252");
  EXPECT_EQ(text.to_utf8("Caf\xE9 \x80"), "Café €");
  EXPECT_EQ(text.to_utf8("Bad\x81"), "Bad" + replacement);
  EXPECT_EQ(text.to_utf8("\x81\x8D\x8F\x90\x9D"), replacement + replacement + replacement + replacement + replacement);
  EXPECT_EQ(text.to_utf8("a\x90z\x9Cz"), "a" + replacement + "zœz");
  EXPECT_EQ(text.to_utf8(""), "");
}

TEST(DatabaseText, MultiByteEncodingsResumeAfterABadByte) {
  database_text text("EUC_JP");
  EXPECT_EQ(text.to_utf8("\xA4\xA2\xB4\xC1"), "あ漢");
  // A lead byte with nothing after it, and one followed by ASCII.
  EXPECT_EQ(text.to_utf8("x\xA4"), "x" + replacement);
  EXPECT_EQ(text.to_utf8("\xA4zz\xA4\xA2"), replacement + "zzあ");
}

TEST(DatabaseText, LongTextIsConvertedWhole) {
  database_text text("LATIN1");
  std::mt19937 random(20261207);
  std::string bytes, expected;
  for (int i = 0; i < 5000; ++i) {
    const auto b = static_cast<unsigned char>(1 + random() % 255);
    bytes += static_cast<char>(b);
    expected += latin1_as_utf8(b);
  }
  EXPECT_EQ(text.to_utf8(bytes), expected);
}

TEST(DatabaseText, UnknownEncodingsAreRefused) {
  EXPECT_THROW(database_text("MULE_INTERNAL"), std::invalid_argument);
  EXPECT_THROW(database_text("UTF8"), std::invalid_argument);
  EXPECT_THROW(database_text("win1252"), std::invalid_argument);
}

TEST(BytesFromHex, ReadsHexAndRefusesTheRest) {
  EXPECT_EQ(bytes_from_hex("4d61"), std::string("Ma"));
  EXPECT_EQ(bytes_from_hex("FF00"), std::string("\xFF\0", 2));
  EXPECT_EQ(bytes_from_hex(""), std::string());
  EXPECT_EQ(bytes_from_hex("4d6"), std::nullopt);
  EXPECT_EQ(bytes_from_hex("4g"), std::nullopt);
  EXPECT_EQ(bytes_from_hex("\\x4d"), std::nullopt);
}

class fixed_row final : public row_text {
 public:
  explicit fixed_row(std::vector<std::optional<std::string>> values) : values_(std::move(values)) {}
  bool is_null(int column) const override { return !values_[column]; }
  std::string_view text(int column) const override {
    return values_[column] ? std::string_view(*values_[column]) : std::string_view();
  }

 private:
  std::vector<std::optional<std::string>> values_;
};

TEST(ConvertedRow, ConvertsTheMarkedColumnsOnly) {
  database_text text("WIN1252");
  const fixed_row row({std::string("C-1"), std::string("4361667e81"), std::nullopt, std::string("4.50"),
                       std::string("not hex")});
  const converted_row converted(row, 5, {false, true, true, false, true}, text);
  EXPECT_EQ(converted.text(0), "C-1");
  EXPECT_EQ(converted.text(1), "Caf~" + replacement);
  EXPECT_TRUE(converted.is_null(2));
  EXPECT_EQ(converted.text(3), "4.50");
  EXPECT_FALSE(converted.is_null(3));
  // Not what the statement sends; kept as it came rather than lost.
  EXPECT_EQ(converted.text(4), "not hex");
}

}  // namespace
}  // namespace storygate::db
