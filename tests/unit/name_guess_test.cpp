#include "mapping/name_guess.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

namespace storygate::mapping {
namespace {

TEST(CustomFieldName, LegacyNamesBecomeFieldNamesAMappingAccepts) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Last Visit", "last_visit"}, {"#notes", "notes"},      {"a: b", "a_b"},          {"Größe", "gr_e"},
      {"2nd Phone", "field_2nd_phone"}, {"ID", "field_id"}, {"__x__", "x"},           {"€", "field"},
      {"order", "order"},           {"Amount, net", "amount_net"}};
  for (const auto& [column, expected] : cases) EXPECT_EQ(custom_field_name(column), expected) << column;
}

// Any bytes at all (PostgreSQL allows any character but NUL in a quoted
// name): always lower-case letters, digits and '_', starting with a letter,
// at most 64, never `id` (the mapping loader's rule).
TEST(CustomFieldName, GeneratedColumnNamesAlwaysGiveAValidName) {
  std::mt19937 random(20261207);
  std::uniform_int_distribution<int> length(1, 80), byte(1, 255);
  const std::regex valid("[a-z][a-z0-9_]*");
  for (int i = 0; i < 20000; ++i) {
    std::string column;
    for (int n = length(random); n > 0; --n) column += static_cast<char>(byte(random));
    const auto name = custom_field_name(column);
    ASSERT_TRUE(std::regex_match(name, valid) && name.size() <= 64 && name != "id" && name.back() != '_')
        << "seed 20261207, case " << i << ": '" << name << "'";
  }
}

TEST(NameGuess, LegacyNamesBecomeDailyStoryFields) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fname", "first_name"},      {"FIRST_NM", "first_name"},   {"FirstName", "first_name"},
      {"lname", "last_name"},       {"surname", "last_name"},     {"email_addr", "email"},
      {"E-Mail", "email"},          {"cell", "mobile_phone"},     {"cell_phone", "mobile_phone"},
      {"st", "state"},              {"country_cd", "country"},    {"addr1", "address"},
      {"zip_cd", "zip"},            {"postal_code", "zip"},       {"dob", "birth_date"},
      {"loyalty_pts", "points"},    {"sms_ok", "allow_sms"},      {"email_opt_in", "allow_email"},
      {"home_store", "store_id"},   {"city", "city"},
  };
  for (const auto& [legacy, expected] : cases) EXPECT_EQ(guess_field_name(legacy), expected) << legacy;
}

TEST(NameGuess, UnknownNamesAreLeftToTheDba) {
  for (const char* name : {"cust_no", "created_ts", "x", "", "password_hash", "notes"})
    EXPECT_EQ(guess_field_name(name), std::nullopt) << name;
}

TEST(NameGuess, ChangeTimeColumns) {
  for (const char* name : {"updated_at", "last_chg_ts", "modified", "LastModified", "change_date", "upd_ts"})
    EXPECT_TRUE(looks_like_change_time(name)) << name;
  for (const char* name : {"created_ts", "birth_dt", "order_ts"}) EXPECT_FALSE(looks_like_change_time(name)) << name;
}

}  // namespace
}  // namespace storygate::mapping
