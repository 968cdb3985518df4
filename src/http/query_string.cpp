#include "http/query_string.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "json/utf8.h"

namespace storygate::http {
namespace {

// Why a decoded value is unacceptable, or nullopt.
std::optional<std::string> refuse(const std::string& decoded) {
  if (decoded.find('\0') != std::string::npos) return "contains a NUL byte";
  if (!json::is_valid_utf8(decoded)) return "is not valid UTF-8";
  return std::nullopt;
}

}  // namespace

std::variant<parsed_target, target_error> parse_target(std::string_view target) {
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) return target_error{"the request target is not a valid URL path and query"};

  parsed_target parsed;
  // Both counts are stored in the parsed URL: one allocation each, not one per doubling.
  parsed.segments.reserve(url->segments().size());
  parsed.params.reserve(url->params().size());
  for (const auto& segment : url->segments()) {
    if (auto why = refuse(segment)) return target_error{"the URL path " + *why};
    parsed.segments.push_back(segment);
  }
  // Form-style decoding: an unencoded '+' means a space (see time/last_updated.h).
  for (const auto& param : url->params()) {
    if (auto why = refuse(param.key)) return target_error{"a query parameter name " + *why};
    if (auto why = refuse(param.value))
      return target_error{"query parameter '" + param.key + "' " + *why};
    parsed.params.emplace_back(param.key, param.value);
  }
  return parsed;
}

}  // namespace storygate::http
