// http/compression: which clients get gzip, and that what they get inflates
// back to the body, checked with zlib's own inflater on generated bodies.
#include "http/compression.h"

#include <gtest/gtest.h>

#include <random>

#include "gunzip.h"

namespace storygate::http {
namespace {


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
    ASSERT_EQ(testing::gunzip(*compressed), body) << "seed " << seed << ", case " << n << ", " << body.size() << " bytes";
    if (n % 2 == 0 && body.size() >= 70000) {
      EXPECT_LT(compressed->size() * 10, body.size());
    }
  }
}

}  // namespace
}  // namespace storygate::http
