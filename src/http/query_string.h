#pragma once
// Splits a request target into decoded path segments and query parameters
// (Boost.URL; a path of plain segments alone is split directly, for speed),
// refusing what no legitimate client sends: bad percent-encoding,
// NUL bytes (libpq would cut a parameter there) and invalid UTF-8.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace storygate::http {

struct parsed_target {
  std::vector<std::string> segments;  // "/api/v1/customer/7" -> api, v1, customer, 7
  std::vector<std::pair<std::string, std::string>> params;  // in order, duplicates kept
};

struct target_error {
  std::string message;
};

std::variant<parsed_target, target_error> parse_target(std::string_view target);

}  // namespace storygate::http
