#include "db/server_health.h"

#include <gtest/gtest.h>

namespace storygate::db {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

const auto t0 = clock_type::time_point{} + 1000s;

server_health primary() {
  server_health h;
  h.name = "p:5432/db as u";
  h.checked = true;
  h.up = true;
  h.lag_seconds = 0.0;
  h.checked_at = t0;
  return h;
}

server_health standby(std::optional<double> lag) {
  auto h = primary();
  h.name = "s:5432/db as u";
  h.in_recovery = true;
  h.lag_seconds = lag;
  return h;
}

server_health down() {
  auto h = primary();
  h.up = false;
  h.lag_seconds.reset();
  h.problem = "connection refused";
  return h;
}

TEST(ServerHealth, LagBoundAddsTheAgeOfTheCheckOnAStandbyOnly) {
  EXPECT_EQ(lag_bound(standby(2.0), t0 + 1500ms), 3.5);
  EXPECT_EQ(lag_bound(primary(), t0 + 10s), 0.0);  // a primary is its own latest state
  EXPECT_FALSE(lag_bound(standby(std::nullopt), t0));
  EXPECT_FALSE(lag_bound(down(), t0));
}

TEST(ServerHealth, AStandbyLagsTooFarPastTheBoundOrWhenItCannotTell) {
  EXPECT_FALSE(lags_too_far(standby(2.0), 5s, t0 + 1s));
  EXPECT_TRUE(lags_too_far(standby(4.5), 5s, t0 + 1s));  // 5.5 s at most by now
  EXPECT_TRUE(lags_too_far(standby(std::nullopt), 5s, t0));
  EXPECT_FALSE(lags_too_far(primary(), 5s, t0 + 60s));
  EXPECT_FALSE(lags_too_far(down(), 5s, t0));  // down is for the pool's backoff, not lag
  EXPECT_FALSE(lags_too_far(server_health{}, 5s, t0));  // not checked yet
}

TEST(ServerHealth, ReadyWhenOneServerIsUpFreshAndNotLagging) {
  EXPECT_EQ(not_ready_reason({primary()}, 30s, 5s, t0 + 1s), std::nullopt);
  EXPECT_EQ(not_ready_reason({down(), standby(1.0)}, 30s, 5s, t0 + 1s), std::nullopt);
  EXPECT_EQ(*not_ready_reason({down()}, 30s, 5s, t0), "p:5432/db as u: down (connection refused)");
  EXPECT_EQ(*not_ready_reason({primary()}, 30s, 5s, t0 + 6s),
            "p:5432/db as u: its health check has not answered for a while");
  EXPECT_EQ(*not_ready_reason({standby(40.0)}, 30s, 5s, t0),
            "s:5432/db as u: standby, replay lag 40.0 s, more than the 30 s allowed");
  EXPECT_EQ(*not_ready_reason({server_health{}}, 30s, 5s, t0), ": not checked yet");
  EXPECT_EQ(*not_ready_reason({}, 30s, 5s, t0), "no database server configured");
}

TEST(ServerHealth, DescribesEachState) {
  EXPECT_EQ(describe_health(primary()), "primary");
  EXPECT_EQ(describe_health(standby(2.04)), "standby, replay lag 2.0 s");
  EXPECT_EQ(describe_health(standby(std::nullopt)), "standby, replay lag unknown (nothing replayed since it started)");
  EXPECT_EQ(describe_health(down()), "down: connection refused");
  EXPECT_EQ(describe_health(server_health{}), "not checked yet");
}

}  // namespace
}  // namespace storygate::db
