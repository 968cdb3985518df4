#include "http/request_checks.h"

#include <algorithm>

namespace storygate::http {
namespace {

std::size_t count(const request& req, bhttp::field name) {
  const auto range = req.equal_range(name);
  return static_cast<std::size_t>(std::distance(range.first, range.second));
}

// host [":" port] with the characters a registered name, an IPv4 address or
// a bracketed IPv6 address can hold.
bool is_valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']' || c == '~' ||
           c == '%';
  });
}

// Beast 1.81 does not count header lines it has already consumed against
// header_limit, so the limit is checked again on what was received.
std::size_t header_bytes(const request& req) {
  std::size_t bytes = req.method_string().size() + req.target().size() + 12;
  for (const auto& f : req) bytes += f.name_string().size() + f.value().size() + 4;
  return bytes + 2;
}

}  // namespace

std::optional<api::reply> refuse_request(const request& req, std::size_t max_header_bytes,
                                         bool& close_after) {
  close_after = false;
  if (header_bytes(req) > max_header_bytes) {
    close_after = true;
    return api::error_reply(431, "The request headers are larger than " + std::to_string(max_header_bytes) +
                                     " bytes");
  }
  // GET and HEAD carry no body, so no framing header but a zero length
  // belongs here; a Transfer-Encoding is how request smuggling starts.
  if (count(req, bhttp::field::transfer_encoding) > 0) {
    close_after = true;
    return api::error_reply(400, "Transfer-Encoding is not accepted: requests here carry no body");
  }
  if (req.version() >= 11) {
    if (count(req, bhttp::field::host) != 1)
      return api::error_reply(400, "An HTTP/1.1 request needs exactly one Host header");
    if (!is_valid_host(req[bhttp::field::host]))
      return api::error_reply(400, "The Host header is not a valid host name");
  }
  if (count(req, bhttp::field::authorization) > 1)
    return api::error_reply(400, "Send one Authorization header, not several");
  return std::nullopt;
}

}  // namespace storygate::http
