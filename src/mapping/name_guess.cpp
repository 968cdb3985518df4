#include "mapping/name_guess.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

namespace storygate::mapping {
namespace {

std::string normalized(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '_' || c == '-' || c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// DailyStory's standard fields and the names legacy schemas give them,
// already normalized.
const std::vector<std::pair<std::string, std::vector<std::string>>>& synonyms() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
      {"first_name", {"firstname", "fname", "firstnm", "first", "givenname", "givennm", "forename", "fnm"}},
      {"last_name", {"lastname", "lname", "lastnm", "last", "surname", "familyname", "familynm", "lnm"}},
      {"email", {"email", "emailaddr", "emailaddress", "mail", "emailid", "emladdr"}},
      {"mobile_phone", {"mobilephone", "mobile", "cell", "cellphone", "cellno", "mobileno", "phone", "phoneno",
                        "phonenumber", "tel", "telephone", "mobilenumber"}},
      {"city", {"city", "citynm", "town"}},
      {"state", {"state", "st", "statecd", "statecode", "province", "prov", "region"}},
      {"country", {"country", "countrycd", "countrycode", "ctry", "cntry"}},
      {"address", {"address", "addr", "addr1", "address1", "street", "streetaddr", "addressline1"}},
      {"zip", {"zip", "zipcd", "zipcode", "postalcode", "postcode", "postcd", "postal"}},
      {"birth_date", {"birthdate", "birthdt", "dob", "dateofbirth", "bday", "birthday"}},
      {"points", {"points", "loyaltypts", "loyaltypoints", "pts", "rewardpoints", "rewardpts"}},
      {"allow_sms", {"allowsms", "smsok", "smsoptin", "smsyn", "smsflag", "textok"}},
      {"allow_email", {"allowemail", "emailok", "emailoptin", "emailyn", "emailflag", "mailok"}},
      {"store_id", {"storeid", "store", "homestore", "storeno", "storenum"}},
  };
  return table;
}

}  // namespace

std::optional<std::string> guess_field_name(std::string_view column) {
  const std::string name = normalized(column);
  for (const auto& [field, names] : synonyms())
    for (const auto& candidate : names)
      if (name == candidate) return field;
  return std::nullopt;
}

std::string custom_field_name(std::string_view column) {
  std::string name;
  bool gap = false;
  for (char c : column) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && std::isalnum(u)) {
      if (gap && !name.empty()) name += '_';
      name += static_cast<char>(std::tolower(u));
      gap = false;
    } else {
      gap = true;
    }
  }
  // A field may be neither unnamed nor `id` (the record's own), nor start
  // with a digit, nor be longer than 64.
  if (name.empty() || name == "id" || !std::isalpha(static_cast<unsigned char>(name.front())))
    name = "field_" + name;
  name.resize(std::min<std::size_t>(name.size(), 64));
  while (name.back() == '_') name.pop_back();
  return name;
}

bool looks_like_change_time(std::string_view column) {
  const std::string name = normalized(column);
  for (const char* hint : {"updat", "modif", "chg", "change", "lastmod", "upd"})
    if (name.find(hint) != std::string::npos) return true;
  return false;
}

}  // namespace storygate::mapping
