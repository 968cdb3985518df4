// http/compression: which clients get gzip, and that what they get inflates
// back to the body, checked with zlib's own inflater on generated bodies.
#include "http/compression.h"

#include <gtest/gtest.h>

#include <boost/algorithm/string.hpp>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

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

// The first version, which copied, lower-cased and split the header with
// Boost's string algorithms: the oracle for the one that copies nothing.
bool accepts_gzip_by_splitting(std::string_view accept_encoding) {
  std::string value(accept_encoding);
  boost::algorithm::to_lower(value);
  std::vector<std::string> codings;
  boost::algorithm::split(codings, value, boost::is_any_of(","));
  for (auto& coding : codings) {
    std::vector<std::string> parts;
    boost::algorithm::split(parts, coding, boost::is_any_of(";"));
    for (auto& p : parts) boost::algorithm::trim(p);
    if (parts[0] != "gzip" && parts[0] != "x-gzip" && parts[0] != "*") continue;
    bool refused = false;
    for (std::size_t i = 1; i < parts.size(); ++i)
      if (parts[i].rfind("q=", 0) == 0) refused = std::strtod(parts[i].c_str() + 2, nullptr) <= 0.0;
    if (!refused) return true;
  }
  return false;
}

TEST(Compression, EveryGeneratedAcceptEncodingIsJudgedAsBySplittingIt) {
  const unsigned seed = 20261207;
  std::mt19937 random(seed);
  const std::vector<std::string> pieces = {"gzip", "GZip", "x-gzip", "X-GZIP", "*", "br", "deflate", "identity",
                                           "gzipx", ",", ",", ";", ";", " ", "\t", "q=", "Q=", "q=0", "q=0.0",
                                           "q=1", "q=0.001", "q= 0.5", "q=-1", "q=abc", "q=1e-9", "=", "0"};
  for (int n = 0; n < 20000; ++n) {
    std::string header;
    for (auto count = random() % 9; count > 0; --count) header += pieces[random() % pieces.size()];
    ASSERT_EQ(accepts_gzip(header), accepts_gzip_by_splitting(header))
        << "seed " << seed << ", case " << n << ": '" << header << "'";
  }
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
