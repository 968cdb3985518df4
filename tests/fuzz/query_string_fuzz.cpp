// libFuzzer target: a request target from the wire, through what the router
// does with it before any database work: http::parse_target, then
// api::parse_list_params (default 25, maximum 1000) on its parameters, and
// api::check_customer_id on every segment and value against a catalog of each
// mapping::id_kind.
//
// Invariants checked:
//  - parse_target reads the target as Boost.URL alone reads it (plain paths
//    are split without it): the same segments and parameters, refused
//    exactly when Boost.URL refuses it or decodes a NUL or invalid UTF-8;
//  - no accepted segment, parameter name or value contains NUL or invalid UTF-8;
//  - an accepted list request has 1 <= limit <= 1000, start <= 10^12, and the
//    limit is 25 unless a 'limit' parameter was given;
//  - an id accepted as integer parses as int64 within the catalog's bounds; as
//    numeric is an optional '-' and digits; as uuid is 32 hex digits (with the
//    four hyphens when 36 bytes long); as text is valid UTF-8 of at most 512
//    bytes without control characters.
// Built only with -DSTORYGATE_FUZZ=ON (tests/fuzz/CMakeLists.txt).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "api/list_params.h"
#include "http/query_string.h"
#include "json/utf8.h"
#include "mapping/catalog.h"

namespace sg = storygate;

namespace {

std::string_view current_input;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "query_string_fuzz: %s: \"%s\"\n  input: \"%.*s\"\n", what, detail.c_str(),
               static_cast<int>(current_input.size()), current_input.data());
  std::abort();
}

void check_decoded(const std::string& s, const char* what) {
  if (s.find('\0') != std::string::npos) fail(what, "contains NUL");
  if (!sg::json::is_valid_utf8(s)) fail(what, "invalid UTF-8 in " + s);
}

sg::mapping::catalog make_catalog(sg::mapping::id_kind kind, int64_t min, int64_t max) {
  sg::mapping::catalog c;
  c.id_match = kind;
  c.id_min = min;
  c.id_max = max;
  return c;
}

const sg::mapping::catalog& catalog_at(std::size_t i) {
  using sg::mapping::id_kind;
  using lim16 = std::numeric_limits<int16_t>;
  using lim32 = std::numeric_limits<int32_t>;
  using lim64 = std::numeric_limits<int64_t>;
  static const sg::mapping::catalog catalogs[] = {
      make_catalog(id_kind::integer, lim16::min(), lim16::max()),
      make_catalog(id_kind::integer, lim32::min(), lim32::max()),
      make_catalog(id_kind::integer, lim64::min(), lim64::max()),
      make_catalog(id_kind::numeric, 0, 0),
      make_catalog(id_kind::uuid, 0, 0),
      make_catalog(id_kind::text, 0, 0),
  };
  return catalogs[i];
}
constexpr std::size_t catalog_count = 6;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void check_id(const std::string& id) {
  for (std::size_t i = 0; i < catalog_count; ++i) {
    const auto& catalog = catalog_at(i);
    if (sg::api::check_customer_id(id, catalog)) continue;  // refused: fine
    switch (catalog.id_match) {
      case sg::mapping::id_kind::integer: {
        int64_t v = 0;
        const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
        if (ec != std::errc() || end != id.data() + id.size() || v < catalog.id_min ||
            v > catalog.id_max)
          fail("accepted as an integer id", id);
        break;
      }
      case sg::mapping::id_kind::numeric: {
        // Digits, with a fraction when the value has one (33995.70): ids
        // are fetchable exactly as a list serves them.
        const std::string_view unsigned_part = !id.empty() && id[0] == '-' ? std::string_view(id).substr(1) : id;
        const auto dot = unsigned_part.find('.');
        if (!all_digits(unsigned_part.substr(0, dot)) ||
            (dot != std::string_view::npos && !all_digits(unsigned_part.substr(dot + 1))))
          fail("accepted as a numeric id", id);
        break;
      }
      case sg::mapping::id_kind::uuid: {
        std::size_t hex = 0;
        for (std::size_t k = 0; k < id.size(); ++k) {
          if (std::isxdigit(static_cast<unsigned char>(id[k]))) ++hex;
          else if (!(id[k] == '-' && id.size() == 36 && (k == 8 || k == 13 || k == 18 || k == 23)))
            fail("accepted as a uuid id", id);
        }
        if (hex != 32) fail("accepted as a uuid id", id);
        break;
      }
      case sg::mapping::id_kind::text:
        // Any character a text column holds but NUL (a tab, a control
        // character): ids are fetchable exactly as a list serves them.
        if (id.size() > 512 || !sg::json::is_valid_utf8(id) || id.find('\0') != std::string::npos)
          fail("accepted as a text id", id);
        break;
    }
  }
}

bool acceptable(const std::string& decoded) {
  return decoded.find('\0') == std::string::npos && sg::json::is_valid_utf8(decoded);
}

// The target as Boost.URL alone reads it, held against parse_target's answer.
void check_against_boost_url(const std::variant<sg::http::parsed_target, sg::http::target_error>& result) {
  const auto url = boost::urls::parse_origin_form(current_input);
  sg::http::parsed_target expected;
  bool accept = static_cast<bool>(url);
  if (url) {
    for (const auto& segment : url->segments()) expected.segments.push_back(segment);
    for (const auto& param : url->params()) expected.params.emplace_back(param.key, param.value);
    for (const auto& segment : expected.segments) accept = accept && acceptable(segment);
    for (const auto& [name, value] : expected.params) accept = accept && acceptable(name) && acceptable(value);
  }
  const auto* got = std::get_if<sg::http::parsed_target>(&result);
  if (accept != (got != nullptr)) fail(accept ? "refused what Boost.URL accepts" : "accepted what Boost.URL refuses", "");
  if (got && (got->segments != expected.segments || got->params != expected.params))
    fail("read otherwise than Boost.URL reads it", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  current_input = std::string_view(reinterpret_cast<const char*>(data), size);
  const auto result = sg::http::parse_target(current_input);
  check_against_boost_url(result);
  const auto* target = std::get_if<sg::http::parsed_target>(&result);
  if (!target) return 0;

  bool has_limit = false;
  for (const auto& segment : target->segments) check_decoded(segment, "segment");
  for (const auto& [name, value] : target->params) {
    check_decoded(name, "parameter name");
    check_decoded(value, "parameter value");
    has_limit = has_limit || name == "limit";
  }

  const auto list = sg::api::parse_list_params(target->params, 25, 1000);
  if (const auto* request = std::get_if<sg::api::list_request>(&list)) {
    if (request->limit < 1 || request->limit > 1000)
      fail("limit out of range", std::to_string(request->limit));
    if (!has_limit && request->limit != 25) fail("default limit not 25", std::to_string(request->limit));
    if (request->start > 1'000'000'000'000) fail("start out of range", std::to_string(request->start));
    if (request->since) check_decoded(request->since->literal, "last_updated literal");
  } else if (std::get<sg::api::bad_request>(list).message.empty()) {
    fail("bad_request without a message", "");
  }

  for (const auto& segment : target->segments) check_id(segment);
  for (const auto& [name, value] : target->params) check_id(value);
  return 0;
}
