#include "cursors/store_url.h"

#include <gtest/gtest.h>

namespace storygate::cursors {
namespace {

void expect_target(const std::string& url, const store_target& want) {
  const auto got = parse_store_url(url);
  EXPECT_EQ(got.host, want.host) << url;
  EXPECT_EQ(got.port, want.port) << url;
  EXPECT_EQ(got.user, want.user) << url;
  EXPECT_EQ(got.password, want.password) << url;
  EXPECT_EQ(got.database, want.database) << url;
  EXPECT_EQ(got.tls, want.tls) << url;
}

TEST(StoreUrl, HostAloneTakesRedisDefaults) { expect_target("redis://cache.internal", {"cache.internal", 6379, "", "", 0, false}); }

TEST(StoreUrl, UserPasswordPortAndDatabase) {
  expect_target("redis://storygate:s%40cret@10.0.0.5:6380/2", {"10.0.0.5", 6380, "storygate", "s@cret", 2, false});
}

TEST(StoreUrl, PasswordWithoutUserIsThePassword) {
  EXPECT_EQ(parse_store_url("redis://:pw@h").password, "pw");
  EXPECT_EQ(parse_store_url("redis://:pw@h").user, "");
  EXPECT_EQ(parse_store_url("redis://pw@h").password, "pw");
}

TEST(StoreUrl, RefusesWhatItCannotUseAndNeverEchoesThePassword) {
  for (const char* bad : {"", "cache:6379", "http://h", "redis://", "redis://h/x", "redis://h?db=1",
                          "redis://h:0"})
    EXPECT_THROW(parse_store_url(bad), store_url_error) << bad;
  try {
    parse_store_url("redis://u:topsecret@h/notanumber");
    FAIL();
  } catch (const store_url_error& e) {
    EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos);
  }
}

TEST(StoreUrl, RedissMeansTls) {
  EXPECT_TRUE(parse_store_url("rediss://h:6380").tls);
  EXPECT_FALSE(parse_store_url("redis://h:6380").tls);
}

}  // namespace
}  // namespace storygate::cursors
