#include "time/last_updated.h"

#include <gtest/gtest.h>

#include <string>

namespace storygate::time {
namespace {

// The normalized literal, or "<rejected>".
std::string literal(std::string_view text) {
  const auto parsed = parse_last_updated(text);
  return parsed ? parsed->literal : "<rejected>";
}

bool offset_of(std::string_view text) {
  const auto parsed = parse_last_updated(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed && parsed->has_offset;
}

TEST(LastUpdated, BareDateIsMidnightWithoutOffset) {
  const auto parsed = parse_last_updated("2022-07-03");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->literal, "2022-07-03 00:00:00");
  EXPECT_FALSE(parsed->has_offset);
}

TEST(LastUpdated, TSeparator) {
  EXPECT_EQ(literal("2022-07-03T12:33:45"), "2022-07-03 12:33:45");
  EXPECT_FALSE(offset_of("2022-07-03T12:33:45"));
}

TEST(LastUpdated, LowerCaseTSeparator) {
  EXPECT_EQ(literal("2022-07-03t12:33:45"), "2022-07-03 12:33:45");
}

TEST(LastUpdated, SpaceSeparator) {
  EXPECT_EQ(literal("2022-07-03 12:33:45"), "2022-07-03 12:33:45");
  EXPECT_FALSE(offset_of("2022-07-03 12:33:45"));
}

TEST(LastUpdated, MinutesOnlyGetZeroSeconds) {
  EXPECT_EQ(literal("2022-07-03T12:33"), "2022-07-03 12:33:00");
  EXPECT_EQ(literal("2022-07-03 00:00"), "2022-07-03 00:00:00");
}

TEST(LastUpdated, Seconds) {
  EXPECT_EQ(literal("2022-07-03T23:59:59"), "2022-07-03 23:59:59");
  EXPECT_EQ(literal("2022-07-03T00:00:00"), "2022-07-03 00:00:00");
}

TEST(LastUpdated, OneToSixFractionalDigitsKeptVerbatim) {
  EXPECT_EQ(literal("2022-07-03T12:33:45.5"), "2022-07-03 12:33:45.5");
  EXPECT_EQ(literal("2022-07-03T12:33:45.05"), "2022-07-03 12:33:45.05");
  EXPECT_EQ(literal("2022-07-03T12:33:45.123"), "2022-07-03 12:33:45.123");
  EXPECT_EQ(literal("2022-07-03T12:33:45.1234"), "2022-07-03 12:33:45.1234");
  EXPECT_EQ(literal("2022-07-03T12:33:45.12345"), "2022-07-03 12:33:45.12345");
  EXPECT_EQ(literal("2022-07-03T12:33:45.123456"), "2022-07-03 12:33:45.123456");
  EXPECT_EQ(literal("2022-07-03T12:33:45.000000"), "2022-07-03 12:33:45.000000");
}

TEST(LastUpdated, CommaDecimalSeparatorBecomesPoint) {
  EXPECT_EQ(literal("2022-07-03T12:33:45,25"), "2022-07-03 12:33:45.25");
}

TEST(LastUpdated, SevenFractionalDigitsRejected) {
  EXPECT_EQ(literal("2022-07-03T12:33:45.1234567"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:45.12345678"), "<rejected>");
}

TEST(LastUpdated, FractionWithoutDigitsRejected) {
  EXPECT_EQ(literal("2022-07-03T12:33:45."), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:45.Z"), "<rejected>");
}

TEST(LastUpdated, FractionNeedsSeconds) {
  EXPECT_EQ(literal("2022-07-03T12:33.5"), "<rejected>");
}

TEST(LastUpdated, UpperZIsUtc) {
  const auto parsed = parse_last_updated("2022-07-03T12:33:45Z");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->literal, "2022-07-03 12:33:45+00:00");
  EXPECT_TRUE(parsed->has_offset);
}

TEST(LastUpdated, LowerZIsUtc) {
  EXPECT_EQ(literal("2022-07-03T12:33:45z"), "2022-07-03 12:33:45+00:00");
  EXPECT_TRUE(offset_of("2022-07-03T12:33:45z"));
}

TEST(LastUpdated, ZAfterMinutesAndAfterFraction) {
  EXPECT_EQ(literal("2022-07-03T12:33Z"), "2022-07-03 12:33:00+00:00");
  EXPECT_EQ(literal("2022-07-03T12:33:45.123456Z"), "2022-07-03 12:33:45.123456+00:00");
}

TEST(LastUpdated, ZMustBeLast) {
  EXPECT_EQ(literal("2022-07-03T12:33:45Z "), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:45ZZ"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:45Z+01:00"), "<rejected>");
}

TEST(LastUpdated, PlusHoursColonMinutes) {
  const auto parsed = parse_last_updated("2022-07-03T12:33:45+05:30");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->literal, "2022-07-03 12:33:45+05:30");
  EXPECT_TRUE(parsed->has_offset);
}

TEST(LastUpdated, MinusHoursMinutesWithoutColon) {
  EXPECT_EQ(literal("2022-07-03T12:33:45-0600"), "2022-07-03 12:33:45-06:00");
  EXPECT_TRUE(offset_of("2022-07-03T12:33:45-0600"));
}

TEST(LastUpdated, HoursOnlyOffset) {
  EXPECT_EQ(literal("2022-07-03T12:33:45+05"), "2022-07-03 12:33:45+05:00");
  EXPECT_EQ(literal("2022-07-03T12:33:45-11"), "2022-07-03 12:33:45-11:00");
}

TEST(LastUpdated, OffsetAfterMinutesOnlyTime) {
  EXPECT_EQ(literal("2022-07-03T12:33-05:00"), "2022-07-03 12:33:00-05:00");
}

TEST(LastUpdated, OffsetAfterFraction) {
  EXPECT_EQ(literal("2022-07-03T12:33:45.5+01:00"), "2022-07-03 12:33:45.5+01:00");
}

TEST(LastUpdated, ZeroOffsetsKeepTheirSign) {
  EXPECT_EQ(literal("2022-07-03T12:33:45+00:00"), "2022-07-03 12:33:45+00:00");
  EXPECT_EQ(literal("2022-07-03T12:33:45-00:00"), "2022-07-03 12:33:45-00:00");
}

TEST(LastUpdated, SpaceStandsInForPlus) {
  // "?last_updated=2022-07-03T12:33:45+05:30" unencoded: '+' decodes to ' '.
  const auto parsed = parse_last_updated("2022-07-03T12:33:45 05:30");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->literal, "2022-07-03 12:33:45+05:30");
  EXPECT_TRUE(parsed->has_offset);
  EXPECT_EQ(literal("2022-07-03 12:33:45 0530"), "2022-07-03 12:33:45+05:30");
  EXPECT_EQ(literal("2022-07-03 12:33 05"), "2022-07-03 12:33:00+05:00");
}

TEST(LastUpdated, LargestOffsetsAccepted) {
  EXPECT_EQ(literal("2022-07-03T12:00:00+15:59"), "2022-07-03 12:00:00+15:59");
  EXPECT_EQ(literal("2022-07-03T12:00:00-15:00"), "2022-07-03 12:00:00-15:00");
  EXPECT_EQ(literal("2022-07-03T12:00:00+14:00"), "2022-07-03 12:00:00+14:00");
}

TEST(LastUpdated, OffsetOverFifteenHoursRejected) {
  EXPECT_EQ(literal("2022-07-03T12:00:00+16:00"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00-16"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+99:00"), "<rejected>");
}

TEST(LastUpdated, OffsetMinutesOver59Rejected) {
  EXPECT_EQ(literal("2022-07-03T12:00:00+05:60"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+0560"), "<rejected>");
}

TEST(LastUpdated, MalformedOffsetsRejected) {
  EXPECT_EQ(literal("2022-07-03T12:00:00+"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+5"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+05:"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+05:3"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+053"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+05-30"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+05:30:00"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00 "), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00UTC"), "<rejected>");
}

TEST(LastUpdated, LeapDayAccepted) {
  EXPECT_EQ(literal("2024-02-29"), "2024-02-29 00:00:00");
  EXPECT_EQ(literal("2000-02-29T23:59:59"), "2000-02-29 23:59:59");
}

TEST(LastUpdated, ImpossibleDatesRejected) {
  EXPECT_EQ(literal("2023-02-29"), "<rejected>");
  EXPECT_EQ(literal("1900-02-29"), "<rejected>");  // century, not a leap year
  EXPECT_EQ(literal("2024-02-30"), "<rejected>");
  EXPECT_EQ(literal("2022-04-31"), "<rejected>");
  EXPECT_EQ(literal("2022-13-01"), "<rejected>");
  EXPECT_EQ(literal("2022-00-01"), "<rejected>");
  EXPECT_EQ(literal("2022-01-00"), "<rejected>");
  EXPECT_EQ(literal("2022-01-32"), "<rejected>");
  EXPECT_EQ(literal("0000-01-01"), "<rejected>");
}

TEST(LastUpdated, MonthEndsAccepted) {
  EXPECT_EQ(literal("2022-01-31"), "2022-01-31 00:00:00");
  EXPECT_EQ(literal("2022-04-30"), "2022-04-30 00:00:00");
  EXPECT_EQ(literal("2022-12-31"), "2022-12-31 00:00:00");
  EXPECT_EQ(literal("0001-01-01"), "0001-01-01 00:00:00");
  EXPECT_EQ(literal("9999-12-31T23:59:59"), "9999-12-31 23:59:59");
}

TEST(LastUpdated, ImpossibleTimesRejected) {
  EXPECT_EQ(literal("2022-07-03T24:00:00"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T24:00"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:60:00"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:60"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:60"), "<rejected>");
}

TEST(LastUpdated, ShortOrLongFieldsRejected) {
  EXPECT_EQ(literal("2022-7-03"), "<rejected>");
  EXPECT_EQ(literal("2022-07-3"), "<rejected>");
  EXPECT_EQ(literal("22-07-03"), "<rejected>");
  EXPECT_EQ(literal("20220-07-03"), "<rejected>");
  EXPECT_EQ(literal("20220703"), "<rejected>");
  EXPECT_EQ(literal("2022/07/03"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T1:33"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:3"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:4"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03 "), "<rejected>");
  EXPECT_EQ(literal("2022-07-03X12:33"), "<rejected>");
  EXPECT_EQ(literal("-2022-07-03"), "<rejected>");
  EXPECT_EQ(literal(" 2022-07-03"), "<rejected>");
}

TEST(LastUpdated, TrailingGarbageRejected) {
  EXPECT_EQ(literal("2022-07-03x"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:45x"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:45+05:30x"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:45.123456x"), "<rejected>");
}

TEST(LastUpdated, EmptyRejected) { EXPECT_EQ(literal(""), "<rejected>"); }

TEST(LastUpdated, VeryLongInputRejected) {
  EXPECT_EQ(literal("2022-07-03T12:33:45.123456" + std::string(100000, '0')), "<rejected>");
  EXPECT_EQ(literal(std::string(1 << 20, '9')), "<rejected>");
}

TEST(LastUpdated, SqlInjectionRejected) {
  EXPECT_EQ(literal("2022-07-03'; DROP TABLE customer; --"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00' OR '1'='1"), "<rejected>");
  EXPECT_EQ(literal("' OR 1=1 --"), "<rejected>");
}

TEST(LastUpdated, NulByteRejected) {
  using namespace std::string_literals;
  EXPECT_EQ(literal("2022-07-03\0"s), "<rejected>");
  EXPECT_EQ(literal("2022-07-03\0T12:00"s), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00\0"s), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00+05\0"s), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:00:00Z\0"s), "<rejected>");
  EXPECT_EQ(literal("2022\0-07-03"s), "<rejected>");
}

TEST(LastUpdated, NonAsciiDigitsRejected) {
  // U+0662 ARABIC-INDIC DIGIT TWO.
  EXPECT_EQ(literal("\xD9\xA2" "022-07-03"), "<rejected>");
  EXPECT_EQ(literal("2022-07-03T12:33:45\xEF\xBC\x8B" "05:00"), "<rejected>");  // fullwidth '+'
}

}  // namespace
}  // namespace storygate::time
