#pragma once
// gzip (zlib, RFC 1952) written piece by piece: a long body is compressed as
// it is produced, so it is never held uncompressed and compressed at once.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace storygate::codec {

// Smaller bodies gain too little from gzip to pay for it.
inline constexpr std::size_t min_compressed_bytes = 1024;

class gzip_stream {
 public:
  gzip_stream();
  ~gzip_stream();
  gzip_stream(const gzip_stream&) = delete;
  gzip_stream& operator=(const gzip_stream&) = delete;

  // Compresses `text` after what came before. False once zlib has failed
  // (then finish() gives nothing).
  bool append(std::string_view text);
  // The whole gzip stream, or nullopt when zlib failed. Once.
  std::optional<std::string> finish();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace storygate::codec
