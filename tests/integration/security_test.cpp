// Refusing abuse: the lockout after repeated failed authentication, the
// per-client rate limit, and gzip only for clients that ask for it.
#include <gtest/gtest.h>

#include <thread>

#include "harness.h"

namespace storygate::testing {
namespace {

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { db_ = new scratch_database(read_file(source_path("tests/integration/fixtures/core.sql"))); }
  static void TearDownTestSuite() { delete db_; }
  static std::unique_ptr<server> start(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"serve", "--mapping", source_path("tests/integration/fixtures/core.yaml")};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<server>(args, std::map<std::string, std::string>{
                                              {"STORYGATE_DATABASE_URL", db_->url()},
                                              {"STORYGATE_BEARER_TOKENS", test_token}});
  }
  static scratch_database* db_;
};
scratch_database* SecurityTest::db_ = nullptr;

TEST_F(SecurityTest, RepeatedFailuresLockTheAddressOut) {
  auto srv = start({"--auth-max-failures", "3", "--auth-lockout-seconds", "2"});
  const std::map<std::string, std::string> wrong = {{"Authorization", "Bearer guess"}};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", wrong).status, 401u);
  // Locked out: even the right credential waits.
  const auto locked = http_get(srv->port(), "/api/v1/customer/244988", bearer());
  EXPECT_EQ(locked.status, 429u) << locked.body;
  EXPECT_FALSE(locked.header("retry-after").empty());
  EXPECT_NE(locked.body.find("Too many requests from this address"), std::string::npos);
  EXPECT_EQ(http_get(srv->port(), "/healthz").status, 200u);  // liveness is never throttled
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", bearer()).status, 200u);
}

TEST_F(SecurityTest, SuccessResetsTheFailureCount) {
  auto srv = start({"--auth-max-failures", "3"});
  const std::map<std::string, std::string> wrong = {{"Authorization", "Bearer guess"}};
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", wrong).status, 401u);
    EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", wrong).status, 401u);
    EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", bearer()).status, 200u);
  }
}

TEST_F(SecurityTest, RateLimitAnswers429WithRetryAfter) {
  auto srv = start({"--rate-limit", "5"});
  int ok = 0, limited = 0;
  for (int i = 0; i < 40; ++i) {
    const auto res = http_get(srv->port(), "/api/v1/customer/244988", bearer());
    if (res.status == 200) ++ok;
    if (res.status == 429) {
      ++limited;
      EXPECT_FALSE(res.header("retry-after").empty());
    }
  }
  EXPECT_GE(ok, 10);  // the burst
  EXPECT_GT(limited, 0);
  EXPECT_EQ(ok + limited, 40);
}

TEST_F(SecurityTest, LargeRepliesAreGzippedOnlyWhenAccepted) {
  auto srv = start({});
  const auto plain = http_get(srv->port(), "/api/v1/customers?limit=100", bearer());
  EXPECT_TRUE(plain.header("content-encoding").empty());
  auto headers = bearer();
  headers["Accept-Encoding"] = "br;q=1.0, gzip;q=0.8";
  const auto zipped = http_get(srv->port(), "/api/v1/customers?limit=100", headers);
  EXPECT_EQ(zipped.header("content-encoding"), "gzip");
  EXPECT_EQ(zipped.header("vary"), "Accept-Encoding");
  EXPECT_LT(zipped.body.size(), plain.body.size() / 3);
  EXPECT_EQ(gunzip(zipped.body), plain.body);
  headers["Accept-Encoding"] = "gzip;q=0";
  EXPECT_TRUE(http_get(srv->port(), "/api/v1/customers?limit=100", headers).header("content-encoding").empty());
  // Small replies are not worth it.
  headers["Accept-Encoding"] = "gzip";
  EXPECT_TRUE(http_get(srv->port(), "/api/v1/customer/1", headers).header("content-encoding").empty());
}

TEST_F(SecurityTest, NoCorsHeadersAndNoStore) {
  auto srv = start({});
  const auto res = http_get(srv->port(), "/api/v1/customer/244988",
                            {{"Authorization", "Bearer " + test_token}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(res.header("cache-control"), "no-store");
  EXPECT_TRUE(res.header("access-control-allow-origin").empty());
}

}  // namespace
}  // namespace storygate::testing
