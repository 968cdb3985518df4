#pragma once
// zlib's own inflater, for tests of what storygate compresses.
#include <zlib.h>

#include <optional>
#include <string>

namespace storygate::testing {

// The body a client would see: `compressed` inflated by zlib, gzip wrapper
// expected (15 + 16), or nullopt when it is not a complete gzip stream.
inline std::optional<std::string> gunzip(const std::string& compressed) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return std::nullopt;
  std::string out;
  char buffer[16384];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
  }
  inflateEnd(&stream);
  if (result != Z_STREAM_END) return std::nullopt;
  return out;
}

}  // namespace storygate::testing
