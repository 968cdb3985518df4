#include "api/list_params.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace storygate::api {
namespace {

using namespace std::string_literals;

constexpr unsigned default_limit = 25;
constexpr unsigned max_limit = 500;

std::variant<list_request, bad_request> parse(const query_params& params) {
  return parse_list_params(params, default_limit, max_limit);
}

list_request ok(const query_params& params) {
  auto result = parse(params);
  if (auto* bad = std::get_if<bad_request>(&result)) {
    ADD_FAILURE() << "unexpected bad_request: " << bad->message;
    return {};
  }
  return std::get<list_request>(result);
}

std::string error(const query_params& params) {
  auto result = parse(params);
  if (auto* bad = std::get_if<bad_request>(&result)) return bad->message;
  ADD_FAILURE() << "expected a bad_request";
  return "<accepted>";
}

const std::string start_message = "parameter 'start' must be a whole number from 0 to 1000000000000";
const std::string limit_message =
    "parameter 'limit' must be a whole number from 1 to 500 (the maximum page size)";
const std::string last_updated_message =
    "parameter 'last_updated' is not a date or date-time; expected "
    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS with optional fractional seconds and "
    "an optional offset (Z, +HH:MM, -HHMM)";

// ---------------------------------------------------------------- parse_list_params

TEST(ListParams, Defaults) {
  const auto r = ok({});
  EXPECT_EQ(r.start, 0u);
  EXPECT_EQ(r.limit, default_limit);
  EXPECT_FALSE(r.since.has_value());
}

TEST(ListParams, DefaultLimitIsTheCallersNotTheStructs) {
  auto result = parse_list_params({}, 7, 10);
  ASSERT_TRUE(std::holds_alternative<list_request>(result));
  EXPECT_EQ(std::get<list_request>(result).limit, 7u);
}

TEST(ListParams, AllThree) {
  const auto r = ok({{"last_updated", "2022-07-03T12:33:45Z"}, {"start", "50"}, {"limit", "100"}});
  ASSERT_TRUE(r.since.has_value());
  EXPECT_EQ(r.since->literal, "2022-07-03 12:33:45+00:00");
  EXPECT_TRUE(r.since->has_offset);
  EXPECT_EQ(r.start, 50u);
  EXPECT_EQ(r.limit, 100u);
}

TEST(ListParams, LastUpdatedWithoutOffset) {
  const auto r = ok({{"last_updated", "2022-07-03"}});
  ASSERT_TRUE(r.since.has_value());
  EXPECT_EQ(r.since->literal, "2022-07-03 00:00:00");
  EXPECT_FALSE(r.since->has_offset);
}

TEST(ListParams, EmptyLastUpdatedMeansEverything) {
  const auto r = ok({{"last_updated", ""}});
  EXPECT_FALSE(r.since.has_value());
  EXPECT_EQ(r.start, 0u);
  EXPECT_EQ(r.limit, default_limit);
}

TEST(ListParams, BadLastUpdatedNamesTheParameterAndTheForm) {
  EXPECT_EQ(error({{"last_updated", "yesterday"}}), last_updated_message);
  EXPECT_EQ(error({{"last_updated", "2023-02-29"}}), last_updated_message);
  EXPECT_EQ(error({{"last_updated", "2022-07-03'; DROP TABLE x; --"}}), last_updated_message);
}

TEST(ListParams, StartBounds) {
  EXPECT_EQ(ok({{"start", "0"}}).start, 0u);
  EXPECT_EQ(ok({{"start", "1000000000000"}}).start, 1'000'000'000'000u);
  EXPECT_EQ(error({{"start", "1000000000001"}}), start_message);
  EXPECT_EQ(ok({{"start", "007"}}).start, 7u);
}

TEST(ListParams, StartNotAWholeNumber) {
  for (const std::string& bad : std::vector<std::string>{"", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "ten", "\xD9\xA1"})
    EXPECT_EQ(error({{"start", bad}}), start_message) << bad;
}

TEST(ListParams, StartHuge) {
  EXPECT_EQ(error({{"start", "9999999999999999999"}}), start_message);   // 19 digits
  EXPECT_EQ(error({{"start", "18446744073709551616"}}), start_message);  // 2^64
  EXPECT_EQ(error({{"start", std::string(1000, '9')}}), start_message);
}

TEST(ListParams, LimitBounds) {
  EXPECT_EQ(ok({{"limit", "1"}}).limit, 1u);
  EXPECT_EQ(ok({{"limit", "500"}}).limit, 500u);
}

TEST(ListParams, LimitZeroRejected) { EXPECT_EQ(error({{"limit", "0"}}), limit_message); }

TEST(ListParams, LimitAboveMaximumNamesTheMaximum) {
  const std::string message = error({{"limit", "501"}});
  EXPECT_EQ(message, limit_message);
  EXPECT_NE(message.find("500"), std::string::npos);
}

TEST(ListParams, LimitMaximumIsTheCallers) {
  auto result = parse_list_params({{"limit", "11"}}, 5, 10);
  ASSERT_TRUE(std::holds_alternative<bad_request>(result));
  EXPECT_EQ(std::get<bad_request>(result).message,
            "parameter 'limit' must be a whole number from 1 to 10 (the maximum page size)");
}

TEST(ListParams, LimitNotAWholeNumber) {
  for (const std::string& bad : std::vector<std::string>{"", "-1", "+5", " 5", "5 ", "2.5", "abc", "0x10", "5\0"s})
    EXPECT_EQ(error({{"limit", bad}}), limit_message) << bad;
}

TEST(ListParams, LimitHuge) {
  EXPECT_EQ(error({{"limit", "4294967297"}}), limit_message);  // 2^32 + 1: no wrap-around
  EXPECT_EQ(error({{"limit", "9999999999999999999"}}), limit_message);
  EXPECT_EQ(error({{"limit", "99999999999999999999"}}), limit_message);
}

TEST(ListParams, DuplicateStartRejected) {
  EXPECT_EQ(error({{"start", "1"}, {"start", "2"}}), "parameter 'start' is given more than once");
}

TEST(ListParams, DuplicateLimitRejected) {
  EXPECT_EQ(error({{"limit", "1"}, {"limit", "1"}}), "parameter 'limit' is given more than once");
}

TEST(ListParams, DuplicateLastUpdatedRejected) {
  EXPECT_EQ(error({{"last_updated", "2022-07-03"}, {"last_updated", "2022-07-04"}}),
            "parameter 'last_updated' is given more than once");
  EXPECT_EQ(error({{"last_updated", ""}, {"last_updated", "2022-07-04"}}),
            "parameter 'last_updated' is given more than once");
}

TEST(ListParams, DuplicateReportedEvenWhenOtherParametersBetween) {
  EXPECT_EQ(error({{"start", "1"}, {"limit", "2"}, {"x", "y"}, {"start", "1"}}),
            "parameter 'start' is given more than once");
}

TEST(ListParams, UnknownParametersIgnored) {
  const auto r = ok({{"page", "3"}, {"sort", "name"}, {"Limit", "9999"}, {"", ""}, {"limit", "10"},
                     {"page", "4"}});
  EXPECT_EQ(r.limit, 10u);
  EXPECT_EQ(r.start, 0u);
  EXPECT_FALSE(r.since.has_value());
}

// ---------------------------------------------------------------- check_customer_id

mapping::catalog catalog_with(mapping::id_kind kind, int64_t min = 0, int64_t max = 0) {
  mapping::catalog c;
  c.id_match = kind;
  c.id_min = min;
  c.id_max = max;
  return c;
}

const mapping::catalog int2 = catalog_with(mapping::id_kind::integer, -32768, 32767);
const mapping::catalog int4 =
    catalog_with(mapping::id_kind::integer, std::numeric_limits<int32_t>::min(),
                 std::numeric_limits<int32_t>::max());
const mapping::catalog int8 =
    catalog_with(mapping::id_kind::integer, std::numeric_limits<int64_t>::min(),
                 std::numeric_limits<int64_t>::max());
const mapping::catalog numeric = catalog_with(mapping::id_kind::numeric);
const mapping::catalog uuid = catalog_with(mapping::id_kind::uuid);
const mapping::catalog text = catalog_with(mapping::id_kind::text);

const std::string int4_message = "customer id must be a whole number from -2147483648 to 2147483647";

TEST(CheckCustomerId, Int4Accepted) {
  for (const std::string& id : std::vector<std::string>{"0", "7", "-7", "2147483647", "-2147483648", "007", "-0"})
    EXPECT_EQ(check_customer_id(id, int4), std::nullopt) << id;
}

TEST(CheckCustomerId, Int4OutOfRange) {
  EXPECT_EQ(check_customer_id("2147483648", int4), int4_message);
  EXPECT_EQ(check_customer_id("-2147483649", int4), int4_message);
  EXPECT_EQ(check_customer_id("99999999999999999999", int4), int4_message);
  EXPECT_EQ(check_customer_id(std::string(200, '9'), int4), int4_message);
}

TEST(CheckCustomerId, Int4NotAWholeNumber) {
  for (const std::string& id : std::vector<std::string>{"", "-", "--5", "+5", " 5", "5 ", "0x10", "1.0", "1e3", "abc", "5-",
                               "5\0"s, "\xD9\xA5"})
    EXPECT_EQ(check_customer_id(id, int4), int4_message) << id;
}

TEST(CheckCustomerId, Int2Bounds) {
  EXPECT_EQ(check_customer_id("32767", int2), std::nullopt);
  EXPECT_EQ(check_customer_id("-32768", int2), std::nullopt);
  EXPECT_EQ(check_customer_id("32768", int2), "customer id must be a whole number from -32768 to 32767");
  EXPECT_EQ(check_customer_id("-32769", int2), "customer id must be a whole number from -32768 to 32767");
}

TEST(CheckCustomerId, Int8Bounds) {
  const std::string message =
      "customer id must be a whole number from -9223372036854775808 to 9223372036854775807";
  EXPECT_EQ(check_customer_id("9223372036854775807", int8), std::nullopt);
  EXPECT_EQ(check_customer_id("-9223372036854775808", int8), std::nullopt);
  EXPECT_EQ(check_customer_id("9223372036854775808", int8), message);
  EXPECT_EQ(check_customer_id("-9223372036854775809", int8), message);
}

TEST(CheckCustomerId, Numeric) {
  for (const std::string& id : std::vector<std::string>{"0", "12345678901234567890123456789", "-5", "007"})
    EXPECT_EQ(check_customer_id(id, numeric), std::nullopt) << id;
  const std::string message = "customer id must be a decimal number";
  for (const std::string& id :
       std::vector<std::string>{"", "-", "+5", " 5", "5 ", "1.", ".5", "1.2.3", "-.5", "0x10", "1e3", "NaN"})
    EXPECT_EQ(check_customer_id(id, numeric), message) << id;
  EXPECT_EQ(check_customer_id(std::string(100, '1'), numeric), std::nullopt);
  EXPECT_EQ(check_customer_id(std::string(101, '1'), numeric), message);
}

// A list serves a numeric id with its fraction, as PostgreSQL prints it.
TEST(CheckCustomerId, NumericWithFraction) {
  for (const std::string& id : std::vector<std::string>{"33995.70", "-0.5", "1.000", "0.001"})
    EXPECT_EQ(check_customer_id(id, numeric), std::nullopt) << id;
}

TEST(CheckCustomerId, UuidWithHyphens) {
  EXPECT_EQ(check_customer_id("123e4567-e89b-12d3-a456-426614174000", uuid), std::nullopt);
  EXPECT_EQ(check_customer_id("123E4567-E89B-12D3-A456-426614174000", uuid), std::nullopt);
}

TEST(CheckCustomerId, UuidWithoutHyphens) {
  EXPECT_EQ(check_customer_id("123e4567e89b12d3a456426614174000", uuid), std::nullopt);
}

TEST(CheckCustomerId, BadUuid) {
  const std::string message = "customer id must be a UUID";
  for (const std::string& id : std::vector<std::string>{
           "",
           "123e4567-e89b-12d3-a456-42661417400",    // one digit short
           "123e4567-e89b-12d3-a456-4266141740000",  // one digit long
           "123e4567e89b12d3a45642661417400",        // 31 hex digits
           "123e4567e89b12d3a4564266141740000",      // 33 hex digits
           "123e4567-e89b12d3-a456-4266141740000",   // hyphen misplaced
           "123e4567e-89b-12d3-a456-426614174000",   // hyphen misplaced
           "123e4567-e89b-12d3-a456-42661417400g",   // not hex
           "{123e4567-e89b-12d3-a456-426614174000}",
           "123e4567-e89b-12d3-a456-42661417400\0"s,
           " 123e4567e89b12d3a456426614174000",
           "123e4567--e89b-12d3-a456-42661417400",
       })
    EXPECT_EQ(check_customer_id(id, uuid), message) << id;
}

TEST(CheckCustomerId, TextAccepted) {
  for (const std::string& id : std::vector<std::string>{"C-0001", "abc def", "Zo\xC3\xAB", "'; DROP TABLE x; --"})
    EXPECT_EQ(check_customer_id(id, text), std::nullopt) << id;
  EXPECT_EQ(check_customer_id(std::string(512, 'x'), text), std::nullopt);
}

// A text column may hold them, and a list serves such an id as stored.
TEST(CheckCustomerId, TextControlCharactersAccepted) {
  for (const std::string& id : std::vector<std::string>{"a\x01", "a\tb", "a\nb", "\x1F", "a\x7F"})
    EXPECT_EQ(check_customer_id(id, text), std::nullopt);
}

// PostgreSQL text cannot hold NUL.
TEST(CheckCustomerId, TextNulRejected) {
  EXPECT_EQ(check_customer_id("a\0b"s, text), "customer id must not contain NUL");
}

TEST(CheckCustomerId, TextTooLong) {
  EXPECT_EQ(check_customer_id(std::string(513, 'x'), text),
            "customer id must be at most 512 bytes");
}

TEST(CheckCustomerId, TextInvalidUtf8) {
  EXPECT_EQ(check_customer_id("Fran\xE7ois", text), "customer id must be valid UTF-8");
  EXPECT_EQ(check_customer_id("\xC0\x80", text), "customer id must be valid UTF-8");
}

}  // namespace
}  // namespace storygate::api
