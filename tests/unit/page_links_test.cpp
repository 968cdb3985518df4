#include "api/page_links.h"

#include <gtest/gtest.h>

#include "http/query_string.h"
#include "time/last_updated.h"

namespace storygate::api {
namespace {

list_request request_since(std::string_view last_updated, unsigned limit) {
  list_request r;
  r.since = time::parse_last_updated(last_updated);
  r.limit = limit;
  return r;
}

TEST(PageLinks, WithoutLastUpdatedOnlyStartAndLimit) {
  list_request r;
  r.limit = 100;
  EXPECT_EQ(next_page_target(r, 300), "/api/v1/customers?start=300&limit=100");
}

TEST(PageLinks, ThePathPrefixGoesFirst) {
  list_request r;
  r.limit = 10;
  EXPECT_EQ(next_page_target(r, 20, "/storygate"), "/storygate/api/v1/customers?start=20&limit=10");
  EXPECT_EQ(next_page_target(r, 20, ""), "/api/v1/customers?start=20&limit=10");
}

TEST(PageLinks, APathPrefixIsSlashSegmentsOfUnreservedCharacters) {
  for (const char* good : {"", "/s", "/storygate", "/a/b/c", "/A-z_0.9~"}) EXPECT_TRUE(is_path_prefix(good)) << good;
  // "//host" would make the link point at another host; "." and ".."
  // segments are resolved away by clients; the rest would need encoding.
  for (const char* bad : {"/", "s", "/s/", "//host", "/a//b", "/.", "/..", "/a/../b", "/a b", "/a%20b", "/a?b",
                          "/a#b", "/\xC3\xA9"})
    EXPECT_FALSE(is_path_prefix(bad)) << bad;
  EXPECT_TRUE(is_path_prefix("/" + std::string(199, 'a')));
  EXPECT_FALSE(is_path_prefix("/" + std::string(200, 'a')));
}

TEST(PageLinks, LastUpdatedIsPercentEncodedSoThePlusSurvives) {
  EXPECT_EQ(next_page_target(request_since("2022-07-03T12:33:45+05:30", 1000), 1000),
            "/api/v1/customers?last_updated=2022-07-03%2012%3A33%3A45%2B05%3A30&start=1000&limit=1000");
}

// The server's own target parser reads a link back as the request that
// continues the walk: the same last_updated, limit and the next start.
TEST(PageLinks, TheServerReadsALinkBackAsTheNextPage) {
  for (const char* given : {"2022-07-03", "2022-07-03T12:33:45.123456Z", "2022-07-03 12:33-0600",
                            "2022-07-03T12:33:45+05:30"}) {
    const auto r = request_since(given, 10);
    ASSERT_TRUE(r.since) << given;
    const auto target = http::parse_target(next_page_target(r, 70));
    ASSERT_TRUE(std::holds_alternative<http::parsed_target>(target)) << given;
    const auto again = parse_list_params(std::get<http::parsed_target>(target).params, 25, 1000);
    ASSERT_TRUE(std::holds_alternative<list_request>(again)) << given;
    const auto& next = std::get<list_request>(again);
    ASSERT_TRUE(next.since);
    EXPECT_EQ(next.since->literal, r.since->literal) << given;
    EXPECT_EQ(next.start, 70u);
    EXPECT_EQ(next.limit, 10u);
  }
}

TEST(PageLinks, LinkHeaderFollowsRfc8288) {
  EXPECT_EQ(next_link_header("/api/v1/customers?start=2&limit=1"),
            "</api/v1/customers?start=2&limit=1>; rel=\"next\"");
}

}  // namespace
}  // namespace storygate::api
