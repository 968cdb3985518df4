// codec/gzip_stream: a body given in pieces, cut at random places, inflates
// (zlib's own inflater) back to the body whole, whatever the pieces.
#include "codec/gzip_stream.h"

#include <gtest/gtest.h>

#include <random>

#include "gunzip.h"

namespace storygate::codec {
namespace {

TEST(GzipStream, PiecesCutAnywhereInflateBackToTheWholeBody) {
  const unsigned seed = 1207;
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::string_view record = R"({"id":1,"email":"a@b","total_sales":12.50},)";
  for (int n = 0; n < 30; ++n) {
    const std::size_t size = std::uniform_int_distribution<std::size_t>(0, 600000)(random);
    std::string body(size, '\0');
    for (std::size_t i = 0; i < body.size(); ++i)
      body[i] = n % 3 == 0 ? static_cast<char>(byte(random)) : record[i % record.size()];
    gzip_stream stream;
    std::size_t at = 0;
    while (at < body.size()) {
      // Pieces from empty to larger than the stream's own output step.
      const std::size_t piece = std::min(body.size() - at, std::uniform_int_distribution<std::size_t>(0, 40000)(random));
      ASSERT_TRUE(stream.append(std::string_view(body).substr(at, piece)));
      at += piece;
    }
    const auto compressed = stream.finish();
    ASSERT_TRUE(compressed) << "seed " << seed << ", case " << n;
    ASSERT_EQ(testing::gunzip(*compressed), body) << "seed " << seed << ", case " << n << ", " << size << " bytes";
  }
}

TEST(GzipStream, NothingGivenIsAnEmptyBody) {
  gzip_stream stream;
  const auto compressed = stream.finish();
  ASSERT_TRUE(compressed);
  EXPECT_EQ(testing::gunzip(*compressed), "");
}

}  // namespace
}  // namespace storygate::codec
