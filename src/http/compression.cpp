#include "http/compression.h"

#include <boost/beast/core/string.hpp>
#include <cstdlib>
#include <string>

#include "codec/gzip_stream.h"

namespace storygate::http {

namespace {

std::string_view trimmed(std::string_view text) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Calls each(piece) for the pieces of `text` between `separator`s.
template <class Each>
void for_each_piece(std::string_view text, char separator, Each each) {
  for (;;) {
    const auto end = text.find(separator);
    each(text.substr(0, end));
    if (end == std::string_view::npos) return;
    text.remove_prefix(end + 1);
  }
}

}  // namespace

// Every request asks this: pieces are views into the header, nothing is
// copied unless a quality is given.
bool accepts_gzip(std::string_view accept_encoding) {
  using boost::beast::iequals;  // ASCII, as HTTP tokens are: no locale per character
  bool accepted = false;
  for_each_piece(accept_encoding, ',', [&](std::string_view coding) {
    if (accepted) return;
    bool first = true, named = false, refused = false;
    for_each_piece(coding, ';', [&](std::string_view part) {
      part = trimmed(part);
      if (first)
        named = iequals(part, "gzip") || iequals(part, "x-gzip") || part == "*";
      else if (part.size() >= 2 && iequals(part.substr(0, 2), "q="))
        refused = std::strtod(std::string(part.substr(2)).c_str(), nullptr) <= 0.0;
      first = false;
    });
    accepted = named && !refused;
  });
  return accepted;
}

std::optional<std::string> gzip(std::string_view body) {
  codec::gzip_stream stream;
  if (!stream.append(body)) return std::nullopt;
  return stream.finish();
}

}  // namespace storygate::http
