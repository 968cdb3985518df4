#include "http/compression.h"

#include <zlib.h>

#include <boost/algorithm/string.hpp>

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
  z_stream stream{};
  // 15 + 16: a gzip wrapper rather than zlib's; level 1: most of the gain for
  // a fraction of the CPU, which matters on a loaded server.
  if (deflateInit2(&stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out(deflateBound(&stream, static_cast<uLong>(body.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  const auto written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return std::nullopt;
  out.resize(written);
  return out;
}

}  // namespace storygate::http
