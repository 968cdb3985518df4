#include "auth/throttle.h"

#include <gtest/gtest.h>

namespace storygate::auth {
namespace {

throttle_options small(std::size_t max_clients) {
  throttle_options o;
  o.max_failures = 3;
  o.lockout = std::chrono::seconds(60);
  o.max_clients = max_clients;
  return o;
}

void fail_times(throttle& t, const std::string& client, int times) {
  for (int i = 0; i < times; ++i) t.failed(client);
}

TEST(Throttle, FailuresLockOutOnlyTheirOwnClient) {
  throttle t(small(100));
  fail_times(t, "attacker", 3);
  EXPECT_TRUE(t.admit("attacker"));
  EXPECT_FALSE(t.admit("dailystory"));
}

TEST(Throttle, AFloodOfNewClientsCannotEvictALockout) {
  throttle t(small(100));
  fail_times(t, "attacker", 3);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(t.admit("flood-" + std::to_string(i)));
  EXPECT_TRUE(t.admit("attacker"));
  EXPECT_LE(t.tracked(), 101u);  // still bounded
}

TEST(Throttle, LockoutsAreBoundedToo) {
  throttle t(small(10));
  for (int i = 0; i < 50; ++i) fail_times(t, "locked-" + std::to_string(i), 3);
  EXPECT_LE(t.tracked(), 20u);
  EXPECT_TRUE(t.admit("locked-49"));  // the newest lockouts stay
}

TEST(Throttle, LeastRecentlySeenClientInGoodStandingIsForgottenFirst) {
  throttle t(small(2));
  t.failed("old");
  t.failed("old");
  t.failed("recent");
  t.admit("newcomer");  // "old" goes: its two failures are forgotten
  t.failed("old");
  EXPECT_FALSE(t.admit("old"));
}

TEST(Throttle, SuccessResetsFailures) {
  throttle t(small(10));
  fail_times(t, "client", 2);
  t.succeeded("client");
  fail_times(t, "client", 2);
  EXPECT_FALSE(t.admit("client"));
}

TEST(Throttle, RateLimitAllowsABurstOfTwiceTheRate) {
  auto o = small(10);
  o.rate = 5;
  throttle t(o);
  int served = 0;
  for (int i = 0; i < 20; ++i) served += t.admit("client") ? 0 : 1;
  EXPECT_EQ(served, 10);
  EXPECT_FALSE(t.admit("other"));
}

}  // namespace
}  // namespace storygate::auth
