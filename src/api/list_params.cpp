#include "api/list_params.h"

#include <algorithm>
#include <charconv>

#include "json/utf8.h"

namespace storygate::api {
namespace {

// Far beyond any table, small enough that OFFSET arithmetic cannot overflow.
constexpr uint64_t max_start = 1'000'000'000'000;
constexpr std::size_t max_text_id_bytes = 512;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::optional<uint64_t> whole_number(const std::string& text) {
  if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), is_digit))
    return std::nullopt;
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// A numeric value as PostgreSQL prints it: "33995.70", "-5", "0.001".
bool is_decimal(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  const auto dot = s.find('.');
  if (dot == std::string_view::npos) return is_digits(s);
  return is_digits(s.substr(0, dot)) && is_digits(s.substr(dot + 1));
}

bool is_uuid(const std::string& s) {
  // 8-4-4-4-12 hex digits, the form PostgreSQL prints; also accepted without hyphens.
  std::string hex;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '-' && (i == 8 || i == 13 || i == 18 || i == 23) && s.size() == 36) continue;
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    hex += s[i];
  }
  return hex.size() == 32;
}

}  // namespace

std::variant<list_request, bad_request> parse_list_params(const query_params& params,
                                                          unsigned default_limit,
                                                          unsigned max_limit) {
  list_request request;
  request.limit = default_limit;
  std::vector<std::string> seen;
  for (const auto& [name, value] : params) {
    if (name != "last_updated" && name != "start" && name != "limit") continue;
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      return bad_request{"parameter '" + name + "' is given more than once"};
    seen.push_back(name);

    if (name == "last_updated") {
      if (value.empty()) continue;  // "since the beginning"
      request.since = time::parse_last_updated(value);
      if (!request.since)
        return bad_request{"parameter 'last_updated' is not a date or date-time; expected " +
                           std::string(time::last_updated_form)};
    } else if (name == "start") {
      const auto start = whole_number(value);
      if (!start || *start > max_start)
        return bad_request{"parameter 'start' must be a whole number from 0 to " +
                           std::to_string(max_start)};
      request.start = *start;
    } else {
      const auto limit = whole_number(value);
      if (!limit || *limit < 1 || *limit > max_limit)
        return bad_request{"parameter 'limit' must be a whole number from 1 to " +
                           std::to_string(max_limit) + " (the maximum page size)"};
      request.limit = static_cast<unsigned>(*limit);
    }
  }
  return request;
}

std::optional<std::string> check_customer_id(const std::string& id,
                                             const mapping::catalog& catalog) {
  switch (catalog.id_match) {
    case mapping::id_kind::integer: {
      const std::string_view digits = id[0] == '-' ? std::string_view(id).substr(1) : id;
      int64_t value = 0;
      const auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), value);
      if (!is_digits(digits) || error != std::errc() || end != id.data() + id.size() ||
          value < catalog.id_min || value > catalog.id_max)
        return "customer id must be a whole number from " + std::to_string(catalog.id_min) +
               " to " + std::to_string(catalog.id_max);
      return std::nullopt;
    }
    // A list serves numeric ids as stored, fraction and all (33995.70), and
    // each must be fetchable as it was served.
    case mapping::id_kind::numeric:
      if (!is_decimal(id) || id.size() > 100) return std::string("customer id must be a decimal number");
      return std::nullopt;
    case mapping::id_kind::uuid:
      if (!is_uuid(id)) return std::string("customer id must be a UUID");
      return std::nullopt;
    case mapping::id_kind::text:
      if (id.size() > max_text_id_bytes)
        return "customer id must be at most " + std::to_string(max_text_id_bytes) + " bytes";
      if (!json::is_valid_utf8(id)) return std::string("customer id must be valid UTF-8");
      // A text column can hold any character but NUL, and a list serves
      // the id as stored (JSON-escaped): it must be fetchable as served. The
      // id is a bound parameter and every log line is JSON, so a tab or a
      // newline in it is harmless.
      if (id.find('\0') != std::string::npos) return std::string("customer id must not contain NUL");
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace storygate::api
