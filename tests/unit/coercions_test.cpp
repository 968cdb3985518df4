// coerce/: legacy text into DailyStory's types. Listed cases pin the
// documented behaviour; the generated ones hold the number reader to an
// independent formatter over many seeded values.
#include "coerce/coercions.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace storygate::coerce {
namespace {

TEST(Coercions, BooleanWordsInAnyCaseWithBlanks) {
  for (const char* yes : {"t", "TRUE", " y ", "Yes", "on", "1"}) EXPECT_EQ(to_boolean(yes), true) << yes;
  for (const char* no : {"f", "False", "N", " no", "OFF", "0"}) EXPECT_EQ(to_boolean(no), false) << no;
}

TEST(Coercions, BooleanRefusesEverythingElse) {
  for (const char* bad : {"", " ", "2", "yess", "t r", "-1", "null", "ja"})
    EXPECT_EQ(to_boolean(bad), std::nullopt) << '"' << bad << '"';
}

TEST(Coercions, NumberKeepsTheDigitsAsWritten) {
  EXPECT_EQ(to_number("1,234.50"), "1234.50");
  EXPECT_EQ(to_number(" 42 "), "42");
  EXPECT_EQ(to_number("-0.5"), "-0.5");
  EXPECT_EQ(to_number(".5"), "0.5");
  EXPECT_EQ(to_number("+7"), "7");
  EXPECT_EQ(to_number("007"), "7");
  EXPECT_EQ(to_number("0"), "0");
  EXPECT_EQ(to_number("12,345,678"), "12345678");
}

TEST(Coercions, NumberRefusesWhatJsonCannotCarry) {
  for (const char* bad : {"", "-", ".", "1.", "1e5", "1,2", "12,34,567", "1234,567", ",123", "1,234,", "1.2.3",
                          "$5", "5%", "NaN", "Infinity", "1 000", "--1", "0x1F", "1,234.5,6"})
    EXPECT_EQ(to_number(bad), std::nullopt) << '"' << bad << '"';
}

TEST(Coercions, IntegerTakesWholeNumbersOnly) {
  EXPECT_EQ(to_integer("42"), "42");
  EXPECT_EQ(to_integer("42.00"), "42");
  EXPECT_EQ(to_integer("-0.0"), "0");
  EXPECT_EQ(to_integer("1,000"), "1000");
  EXPECT_EQ(to_integer("42.5"), std::nullopt);
  EXPECT_EQ(to_integer("forty"), std::nullopt);
}

// Groups `digits` in threes from the right, as a ledger prints them.
std::string with_separators(const std::string& digits) {
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

TEST(Coercions, NumberReadsEveryGeneratedLedgerAmount) {
  const unsigned seed = 20261129;
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> length(1, 18), digit(0, 9), coin(0, 1), fraction_length(0, 4);
  for (int n = 0; n < 5000; ++n) {
    std::string whole;
    const int size = length(random);
    for (int i = 0; i < size; ++i) whole += static_cast<char>('0' + (i == 0 ? 1 + digit(random) % 9 : digit(random)));
    std::string fraction;
    const int places = fraction_length(random);
    for (int i = 0; i < places; ++i) fraction += static_cast<char>('0' + digit(random));
    const bool negative = coin(random) == 1;
    const bool separated = coin(random) == 1;
    std::string text = (negative ? "-" : "") + (separated ? with_separators(whole) : whole);
    std::string expected = (negative ? "-" : "") + whole;
    if (places > 0) {
      text += "." + fraction;
      expected += "." + fraction;
    }
    ASSERT_EQ(to_number(text), expected) << "seed " << seed << ", case " << n << ": " << text;
  }
}

TEST(Coercions, NumberRefusesEveryMisplacedSeparator) {
  const unsigned seed = 7;
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> digit(0, 9);
  for (int n = 0; n < 2000; ++n) {
    std::string digits = "1";
    const int size = 4 + n % 12;
    for (int i = 1; i < size; ++i) digits += static_cast<char>('0' + digit(random));
    std::string good = with_separators(digits);
    // Move one comma one place left or right: never a valid grouping.
    const auto comma = good.find(',');
    std::string bad = good;
    bad.erase(comma, 1);
    const auto moved = n % 2 == 0 ? comma - 1 : comma + 1;
    if (moved == 0 || moved >= bad.size()) continue;
    bad.insert(moved, ",");
    EXPECT_EQ(to_number(bad), std::nullopt) << "seed " << seed << ", case " << n << ": " << bad;
  }
}

TEST(Coercions, DateInTheDeclaredFormat) {
  EXPECT_EQ(to_date("03/07/2022", "%m/%d/%Y"), "2022-03-07");
  EXPECT_EQ(to_date(" 2022-03-07 ", "%Y-%m-%d"), "2022-03-07");
  EXPECT_EQ(to_date("29/02/2024", "%d/%m/%Y"), "2024-02-29");
}

TEST(Coercions, DateRefusesImpossibleDaysAndLeftovers) {
  EXPECT_EQ(to_date("29/02/2023", "%d/%m/%Y"), std::nullopt);
  EXPECT_EQ(to_date("13/01/2022", "%m/%d/%Y"), std::nullopt);
  EXPECT_EQ(to_date("03/07/2022 trailing", "%m/%d/%Y"), std::nullopt);
  EXPECT_EQ(to_date("", "%m/%d/%Y"), std::nullopt);
}

TEST(Coercions, DateTimeCarriesTheOffsetInForceThen) {
  // The seed's own example: US Central is -06:00 in January, -05:00 in October.
  EXPECT_EQ(to_datetime("2021-01-23 16:33:37", "%Y-%m-%d %H:%M:%S", "America/Chicago", "America/Chicago"),
            "2021-01-23T16:33:37-06:00");
  EXPECT_EQ(to_datetime("2021-10-06 13:01:27", "%Y-%m-%d %H:%M:%S", "America/Chicago", "America/Chicago"),
            "2021-10-06T13:01:27-05:00");
  // Read in one zone, served in another.
  EXPECT_EQ(to_datetime("2021-10-06 13:01:27", "%Y-%m-%d %H:%M:%S", "UTC", "Asia/Kathmandu"),
            "2021-10-06T18:46:27+05:45");
  EXPECT_EQ(to_datetime("2021-07-01 12:00:00", "%Y-%m-%d %H:%M:%S", "UTC", "Australia/Lord_Howe"),
            "2021-07-01T22:30:00+10:30");
}

TEST(Coercions, DateTimeInADstFoldOrGapIsReadAsPostgresReadsIt) {
  // As `'...'::timestamp AT TIME ZONE 'America/Chicago'` answers (checked
  // against PostgreSQL 15; text_datetime_oracle_test holds every zone to it):
  // 01:30 happens twice on 2021-11-07: the second, CST, is taken.
  EXPECT_EQ(to_datetime("2021-11-07 01:30:00", "%Y-%m-%d %H:%M:%S", "America/Chicago", "UTC"),
            "2021-11-07T07:30:00+00:00");
  // 02:30 never happens on 2021-03-14: read with the offset before the gap (CST).
  EXPECT_EQ(to_datetime("2021-03-14 02:30:00", "%Y-%m-%d %H:%M:%S", "America/Chicago", "UTC"),
            "2021-03-14T08:30:00+00:00");
  // Lord Howe shifts by 30 minutes: the same rule.
  EXPECT_EQ(to_datetime("2021-10-03 02:15:00", "%Y-%m-%d %H:%M:%S", "Australia/Lord_Howe", "UTC"),
            "2021-10-02T15:45:00+00:00");
  EXPECT_EQ(to_datetime("2021-04-04 01:45:00", "%Y-%m-%d %H:%M:%S", "Australia/Lord_Howe", "UTC"),
            "2021-04-03T15:15:00+00:00");
}

TEST(Coercions, DateTimeRefusesBadTextButThrowsForAnUnknownZone) {
  EXPECT_EQ(to_datetime("2021-02-30 10:00:00", "%Y-%m-%d %H:%M:%S", "UTC", "UTC"), std::nullopt);
  EXPECT_EQ(to_datetime("yesterday", "%Y-%m-%d %H:%M:%S", "UTC", "UTC"), std::nullopt);
  EXPECT_THROW(to_datetime("2021-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", "Mars/Olympus", "UTC"), std::runtime_error);
}

TEST(Coercions, KnownZones) {
  EXPECT_TRUE(is_known_zone("America/Chicago"));
  EXPECT_TRUE(is_known_zone("UTC"));
  EXPECT_FALSE(is_known_zone("America/Springfield"));
  EXPECT_FALSE(is_known_zone(""));
}

TEST(Coercions, SplitTrimsAndDropsEmptyItems) {
  EXPECT_EQ(split("Beauty;Health; ", ";"), (std::vector<std::string>{"Beauty", "Health"}));
  EXPECT_EQ(split(" a || b ||", "||"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split("", ";"), std::vector<std::string>{});
  EXPECT_EQ(split(";;;", ";"), std::vector<std::string>{});
  EXPECT_EQ(split("whole", ";"), std::vector<std::string>{"whole"});
  EXPECT_EQ(split("a;b", ""), std::vector<std::string>{});
}

}  // namespace
}  // namespace storygate::coerce
