#include "api/page_links.h"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace storygate::api {

std::string next_page_target(const list_request& request, uint64_t next_start) {
  std::string target = "/api/v1/customers?";
  if (request.since) {
    // Only unreserved characters stay as they are: ':' and ' ' and '+' would
    // each survive some decoders and not others.
    target += "last_updated=" + boost::urls::encode(request.since->literal, boost::urls::unreserved_chars) + "&";
  }
  target += "start=" + std::to_string(next_start) + "&limit=" + std::to_string(request.limit);
  return target;
}

std::string next_link_header(std::string_view target) {
  return "<" + std::string(target) + ">; rel=\"next\"";
}

}  // namespace storygate::api
