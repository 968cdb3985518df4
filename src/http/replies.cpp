#include "http/replies.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <string_view>
#include <utility>
#include <vector>

namespace storygate::http {
namespace {

using reply_headers = std::vector<std::pair<std::string, std::string>>;

// Every reply carries these, unless it sets them itself.
constexpr std::pair<std::string_view, std::string_view> default_headers[] = {
    {"Content-Type", "application/json; charset=utf-8"},
    // Customer data: no cache between DailyStory and us may keep a copy.
    {"Cache-Control", "no-store"},
    {"X-Content-Type-Options", "nosniff"},
};

// The last of `headers` named `name` (ASCII, any case), or null: a reply
// that sets a header twice means the second.
const std::string *last_value(const reply_headers &headers, std::string_view name) {
  const std::string *found = nullptr;
  for (const auto &[n, v] : headers)
    if (boost::beast::iequals(n, name)) found = &v;  // ASCII: no locale per character
  return found;
}

bool is_default(std::string_view name) {
  for (const auto &[default_name, value] : default_headers)
    if (boost::beast::iequals(default_name, name)) return true;
  return false;
}

void append_value(std::string &out, std::string_view value) {
  const auto start = out.size();
  out += value;
  std::replace_if(
      out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
      [](char c) { return c == '\r' || c == '\n' || c == '\0'; }, ' ');
}

// `value` is cleaned of line breaks and NULs unless it is `trusted` (ours).
void append_header(std::string &out, std::string_view name, std::string_view value, bool trusted = false) {
  out += name;
  out += ": ";
  if (trusted)
    out += value;
  else
    append_value(out, value);
  out += "\r\n";
}

}  // namespace

wire_response make_response(api::reply reply, unsigned version, bool keep_alive, bool head) {
  const std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(reply.status));

  wire_response out;
  out.close = !keep_alive;
  out.head.reserve(256);
  out.head += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out.head += std::to_string(reply.status);
  out.head += ' ';
  out.head += reason;
  out.head += "\r\n";
  for (const auto &[name, value] : default_headers) {
    if (const std::string *set = last_value(reply.headers, name))
      append_header(out.head, name, *set);
    else
      append_header(out.head, name, value, true);
  }
  for (const auto &[name, value] : reply.headers)
    if (!is_default(name) && last_value(reply.headers, name) == &value) append_header(out.head, name, value);
  // HTTP/1.1 is persistent unless told otherwise, HTTP/1.0 the reverse.
  if (version >= 11 && !keep_alive) out.head += "Connection: close\r\n";
  if (version < 11 && keep_alive) out.head += "Connection: keep-alive\r\n";
  out.head += "Content-Length: ";
  out.head += std::to_string(reply.body.size());
  out.head += "\r\n\r\n";
  if (!head) out.body = std::move(reply.body);
  return out;
}

}  // namespace storygate::http
