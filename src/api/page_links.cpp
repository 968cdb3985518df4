#include "api/page_links.h"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>

namespace storygate::api {

std::string next_page_target(const list_request& request, uint64_t next_start, std::string_view path_prefix) {
  std::string target = std::string(path_prefix) + "/api/v1/customers?";
  if (request.since) {
    // Only unreserved characters stay as they are: ':' and ' ' and '+' would
    // each survive some decoders and not others.
    target += "last_updated=" + boost::urls::encode(request.since->literal, boost::urls::unreserved_chars) + "&";
  }
  target += "start=" + std::to_string(next_start) + "&limit=" + std::to_string(request.limit);
  return target;
}

bool is_path_prefix(std::string_view prefix) {
  if (prefix.empty()) return true;
  if (prefix.size() > 200 || prefix.front() != '/') return false;
  // Each "/segment" in turn.
  for (std::size_t at = 0; at < prefix.size();) {
    const auto end = std::min(prefix.find('/', at + 1), prefix.size());
    const auto segment = prefix.substr(at + 1, end - at - 1);
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (const char c : segment)
      if (!boost::urls::unreserved_chars(c)) return false;
    at = end;
  }
  return true;
}

std::string next_link_header(std::string_view target) {
  return "<" + std::string(target) + ">; rel=\"next\"";
}

}  // namespace storygate::api
