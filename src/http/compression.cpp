#include "http/compression.h"

#include <boost/algorithm/string.hpp>

#include "codec/gzip_stream.h"

namespace storygate::http {

bool accepts_gzip(std::string_view accept_encoding) {
  std::string value(accept_encoding);
  boost::algorithm::to_lower(value);
  std::vector<std::string> codings;
  boost::algorithm::split(codings, value, boost::is_any_of(","));
  for (auto& coding : codings) {
    std::vector<std::string> parts;
    boost::algorithm::split(parts, coding, boost::is_any_of(";"));
    for (auto& p : parts) boost::algorithm::trim(p);
    if (parts.empty() || (parts[0] != "gzip" && parts[0] != "x-gzip" && parts[0] != "*")) continue;
    bool refused = false;
    for (std::size_t i = 1; i < parts.size(); ++i)
      if (parts[i].rfind("q=", 0) == 0) refused = std::strtod(parts[i].c_str() + 2, nullptr) <= 0.0;
    if (!refused) return true;
  }
  return false;
}

std::optional<std::string> gzip(std::string_view body) {
  codec::gzip_stream stream;
  if (!stream.append(body)) return std::nullopt;
  return stream.finish();
}

}  // namespace storygate::http
