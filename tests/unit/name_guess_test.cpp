#include "mapping/name_guess.h"

#include <gtest/gtest.h>

namespace storygate::mapping {
namespace {

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
