#include "http/query_string.h"

#include <algorithm>

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

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Nearly every request's target is a path of plain segments and no query
// ("/api/v1/customer/244988"): unreserved characters only (nothing to
// decode, nothing to refuse), no empty segment and no dot segment. Those
// are split here, for a tenth of what the general parser costs (README, "The
// request path"); Boost.URL gives them the same segments, which the unit
// tests check over generated targets. Anything else: nullopt.
std::optional<parsed_target> split_plain_path(std::string_view target) {
  if (target.size() < 2 || target.front() != '/' || target.back() == '/') return std::nullopt;
  std::size_t count = 1;
  for (std::size_t i = 1; i < target.size(); ++i) {
    const char c = target[i];
    if (c == '/') {
      if (target[i - 1] == '/') return std::nullopt;
      ++count;
    } else if (!unreserved(c)) {
      return std::nullopt;
    }
  }
  parsed_target parsed;
  parsed.segments.reserve(count);
  std::size_t start = 1;
  while (start <= target.size()) {
    const std::size_t end = std::min(target.find('/', start), target.size());
    const std::string_view segment = target.substr(start, end - start);
    if (segment == "." || segment == "..") return std::nullopt;
    parsed.segments.emplace_back(segment);
    start = end + 1;
  }
  return parsed;
}

}  // namespace

std::variant<parsed_target, target_error> parse_target(std::string_view target) {
  if (auto plain = split_plain_path(target)) return std::move(*plain);
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
