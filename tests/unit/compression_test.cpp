// http/compression: which clients get gzip, and that what they get inflates
// back to the body, checked with zlib's own inflater on generated bodies.
#include "http/compression.h"

#include <zlib.h>

#include <gtest/gtest.h>

#include <random>

namespace storygate::http {
namespace {

// The body a client would see: `compressed` inflated by zlib, gzip wrapper
// expected (15 + 16), or nullopt when it is not a complete gzip stream.
std::optional<std::string> gunzip(const std::string& compressed) {
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

TEST(Compression, AcceptsGzipWhenOfferedWithoutAZeroQuality) {
  for (const char* yes : {"gzip", "GZIP", "deflate, gzip", "gzip;q=0.5", "br;q=1, gzip ; q=0.001", "x-gzip", "*",
                          "identity, *;q=0.1"})
    EXPECT_TRUE(accepts_gzip(yes)) << yes;
}

TEST(Compression, RefusesGzipWhenAbsentOrQualityZero) {
  for (const char* no : {"", "identity", "br, deflate", "gzip;q=0", "gzip; q=0.0", "*;q=0", "gzipped", "gzip2"})
    EXPECT_FALSE(accepts_gzip(no)) << no;
}

TEST(Compression, GzipInflatesBackToEveryGeneratedBody) {
  const unsigned seed = 1129;
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> byte(0, 255), size_class(0, 4);
  const std::size_t sizes[] = {0, 1, 100, 70000, 1 << 20};
  const std::string_view record = R"({"id":1,"email":"a@b"},)";
  for (int n = 0; n < 40; ++n) {
    std::string body(sizes[size_class(random)], '\0');
    // Half are JSON-like and repetitive, half random bytes that do not shrink.
    for (std::size_t i = 0; i < body.size(); ++i)
      body[i] = n % 2 == 0 ? record[i % record.size()] : static_cast<char>(byte(random));
    const auto compressed = gzip(body);
    ASSERT_TRUE(compressed) << "seed " << seed << ", case " << n;
    ASSERT_EQ(gunzip(*compressed), body) << "seed " << seed << ", case " << n << ", " << body.size() << " bytes";
    if (n % 2 == 0 && body.size() >= 70000) {
      EXPECT_LT(compressed->size() * 10, body.size());
    }
  }
}

}  // namespace
}  // namespace storygate::http
