#include "http/replies.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <string_view>
#include <utility>
#include <vector>

namespace storygate::http {
namespace {

using header = std::pair<std::string_view, std::string_view>;

void set(std::vector<header> &headers, std::string_view name, std::string_view value) {
  for (auto &h : headers) {
    if (boost::beast::iequals(h.first, name)) {  // ASCII: no locale per character
      h.second = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

void append_value(std::string &out, std::string_view value) {
  const auto start = out.size();
  out += value;
  std::replace_if(
      out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
      [](char c) { return c == '\r' || c == '\n' || c == '\0'; }, ' ');
}

}  // namespace

wire_response make_response(api::reply reply, unsigned version, bool keep_alive, bool head) {
  std::vector<header> headers;
  headers.reserve(8 + reply.headers.size());
  headers.emplace_back("Content-Type",
                       "application/json; charset=utf-8");  // unless the reply says otherwise
  // Customer data: no cache between DailyStory and us may keep a copy.
  headers.emplace_back("Cache-Control", "no-store");
  headers.emplace_back("X-Content-Type-Options", "nosniff");
  for (const auto &[name, value] : reply.headers) set(headers, name, value);

  const std::string length = std::to_string(reply.body.size());
  const std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(reply.status));

  wire_response out;
  out.close = !keep_alive;
  out.head.reserve(256);
  out.head += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out.head += std::to_string(reply.status);
  out.head += ' ';
  out.head += reason;
  out.head += "\r\n";
  for (const auto &[name, value] : headers) {
    out.head += name;
    out.head += ": ";
    append_value(out.head, value);
    out.head += "\r\n";
  }
  // HTTP/1.1 is persistent unless told otherwise, HTTP/1.0 the reverse.
  if (version >= 11 && !keep_alive) out.head += "Connection: close\r\n";
  if (version < 11 && keep_alive) out.head += "Connection: keep-alive\r\n";
  out.head += "Content-Length: ";
  out.head += length;
  out.head += "\r\n\r\n";
  if (!head) out.body = std::move(reply.body);
  return out;
}

}  // namespace storygate::http
