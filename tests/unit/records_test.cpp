// api/records: convert_text, the JSON a legacy text value becomes for each
// conversion a mapping can declare.
#include "api/records.h"

#include <gtest/gtest.h>

namespace storygate::api {
namespace {

using mapping::conversion;

mapping::resolved_field field(conversion convert) {
  mapping::resolved_field f;
  f.name = "f";
  f.convert = convert;
  return f;
}

TEST(Records, BooleanTextBecomesAJsonBoolean) {
  const auto f = field(conversion::boolean_from_text);
  EXPECT_EQ(convert_text(f, "Y", "UTC"), "true");
  EXPECT_EQ(convert_text(f, "no", "UTC"), "false");
  EXPECT_EQ(convert_text(f, "maybe", "UTC"), std::nullopt);
}

TEST(Records, NumberTextBecomesAJsonNumber) {
  EXPECT_EQ(convert_text(field(conversion::number_from_text), "1,234.50", "UTC"), "1234.50");
  EXPECT_EQ(convert_text(field(conversion::integer_from_text), "42.00", "UTC"), "42");
  EXPECT_EQ(convert_text(field(conversion::integer_from_text), "42.5", "UTC"), std::nullopt);
  EXPECT_EQ(convert_text(field(conversion::number_from_text), "n/a", "UTC"), std::nullopt);
}

TEST(Records, DatesAreQuotedJsonStrings) {
  auto f = field(conversion::date_from_text);
  f.format = "%m/%d/%Y";
  EXPECT_EQ(convert_text(f, "07/03/2022", "UTC"), "\"2022-07-03\"");
  EXPECT_EQ(convert_text(f, "31/31/2022", "UTC"), std::nullopt);
}

TEST(Records, DateTimesAreServedInTheResponseZone) {
  auto f = field(conversion::datetime_from_text);
  f.format = "%Y-%m-%d %H:%M";
  f.zone = "UTC";
  EXPECT_EQ(convert_text(f, "2021-01-23 22:33", "America/Chicago"), "\"2021-01-23T16:33:00-06:00\"");
  EXPECT_EQ(convert_text(f, "2021-01-23", "America/Chicago"), std::nullopt);
}

TEST(Records, SplitTextBecomesAnArrayOfEscapedStrings) {
  auto f = field(conversion::array_from_split);
  f.split = ";";
  EXPECT_EQ(convert_text(f, "Beauty; Health ;", "UTC"), "[\"Beauty\",\"Health\"]");
  EXPECT_EQ(convert_text(f, "say \"hi\";a\\b", "UTC"), "[\"say \\\"hi\\\"\",\"a\\\\b\"]");
  EXPECT_EQ(convert_text(f, "", "UTC"), "[]");
}

TEST(Records, FieldsWithoutATextConversionConvertNothing) {
  EXPECT_EQ(convert_text(field(conversion::none), "x", "UTC"), std::nullopt);
  EXPECT_EQ(convert_text(field(conversion::constant), "x", "UTC"), std::nullopt);
}

}  // namespace
}  // namespace storygate::api
