// api/records: convert_text, the JSON a legacy text value becomes for each
// conversion a mapping can declare; write_record, a row as a record, read
// through db::row_text (so no database is needed here).
#include "api/records.h"

#include <gtest/gtest.h>

#include <vector>

#include "fake_row.h"

namespace storygate::api {
namespace {

using mapping::conversion;

mapping::resolved_field field(conversion convert) {
  mapping::resolved_field f;
  mapping::name_field(f, "f");
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


// id (integer), then: a plain string, a constant, a boolean from text with a
// default, a number from text without one.
mapping::catalog record_catalog() {
  mapping::catalog c;
  c.source.time_zone.value = "UTC";
  mapping::name_field(c.id, "id");
  c.id.output = mapping::field_type::integer;
  auto name = field(conversion::none);
  mapping::name_field(name, "first_name");
  name.output = mapping::field_type::string;
  name.sql_column = 1;
  auto source = field(conversion::constant);
  mapping::name_field(source, "source");
  source.constant_json = R"("legacy")";
  auto vip = field(conversion::boolean_from_text);
  mapping::name_field(vip, "vip");
  vip.sql_column = 2;
  vip.default_json = "false";
  auto sales = field(conversion::number_from_text);
  mapping::name_field(sales, "total_sales");
  sales.sql_column = 3;
  c.fields = {name, source, vip, sales};
  c.sql_columns = 4;
  return c;
}

struct warning {
  std::string id, field, text;
};

std::string record(const mapping::catalog& c, std::vector<std::optional<std::string>> values,
                   std::vector<warning>* warnings = nullptr) {
  json::record_writer w;
  write_record(w, c, testing::fake_row(std::move(values)),
               [&](std::string_view id, const mapping::resolved_field& f, std::string_view text) {
                 if (warnings) warnings->push_back({std::string(id), f.name, std::string(text)});
               });
  return w.take();
}

TEST(WriteRecord, IdFirstThenEveryFieldInMappingOrder) {
  EXPECT_EQ(record(record_catalog(), {"7", "Ann", "Y", "1,200.50"}),
            R"({"id":7,"first_name":"Ann","source":"legacy","vip":true,"total_sales":1200.50})");
}

TEST(WriteRecord, NullsAreNullOrTheFieldsDefault) {
  EXPECT_EQ(record(record_catalog(), {"7", std::nullopt, std::nullopt, std::nullopt}),
            R"({"id":7,"first_name":null,"source":"legacy","vip":false,"total_sales":null})");
}

TEST(WriteRecord, AValueThatDoesNotConvertIsReportedAndServedAsNullOrTheDefault) {
  std::vector<warning> warnings;
  EXPECT_EQ(record(record_catalog(), {"7", "Ann", "perhaps", "n/a"}, &warnings),
            R"({"id":7,"first_name":"Ann","source":"legacy","vip":false,"total_sales":null})");
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].id, "7");
  EXPECT_EQ(warnings[0].field, "vip");
  EXPECT_EQ(warnings[0].text, "perhaps");
  EXPECT_EQ(warnings[1].field, "total_sales");
  EXPECT_EQ(warnings[1].text, "n/a");
}

TEST(WriteRecord, TextIsEscapedAsJson) {
  EXPECT_EQ(record(record_catalog(), {"7", "say \"hi\"\n", "N", "0"}),
            R"({"id":7,"first_name":"say \"hi\"\n","source":"legacy","vip":false,"total_sales":0})");
}

// A field's name is the DBA's text: quotes, backslashes and non-ASCII letters
// reach the record as the JSON string of the name.
TEST(WriteRecord, FieldNamesAreWrittenAsJsonStrings) {
  auto c = record_catalog();
  mapping::name_field(c.fields[0], "say \"hi\"\\ größe");
  EXPECT_EQ(record(c, {"7", "Ann", "Y", "1"}),
            "{\"id\":7,\"say \\\"hi\\\"\\\\ größe\":\"Ann\",\"source\":\"legacy\",\"vip\":true,"
            "\"total_sales\":1}");
}

}  // namespace
}  // namespace storygate::api
