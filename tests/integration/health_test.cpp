// What the pool knows of each database server, against the real binary:
//
//  1. /readyz answers from the pool's own health check (about once a second
//     per server, on a connection named storygate-health), so probes are
//     answered while every pooled connection is busy and cost the database
//     nothing.
//  2. A real streaming replica (pg_basebackup) that replays a few seconds late
//     (recovery_min_apply_delay): a change committed on the primary before a
//     sync, and not yet replayed when that sync reads the replica, reaches the
//     client in the next sync, because list windows reach back by
//     --max-replica-lag-seconds besides the overlap. Both ways a DBA points
//     storygate at a replica: as --database-url, and as a --replica-url.
//     `check` and /metrics show the standby and its lag.
//
// The clusters take the first free ports from 26230 (the shared test cluster
// keeps its own); everything is taken down at scope exit.
#include <gtest/gtest.h>
#include <signal.h>

#include <pqxx/pqxx>

#include <atomic>
#include <fstream>
#include <thread>

#include "clusters.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::map<std::string, std::string> token_env() { return {{"STORYGATE_BEARER_TOKENS", test_token}}; }

// First column of the first row ("" for NULL), on a connection of its own.
std::string value_at(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  const auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : std::string(r[0][0].c_str());
}

// ---------------------------------------------------------------------------
// 1. Readiness without a query per probe.

// Customer 1001 takes `seconds` to serve; the others answer at once.
std::string slow_field(int seconds) {
  return "  slow: { expression: \"(SELECT 1 FROM pg_sleep(CASE WHEN customer.cust_no = 1001 THEN " +
         std::to_string(seconds) + " ELSE 0 END))\", type: integer }\n";
}

TEST(Health, ReadinessIsAnsweredWhileEveryPooledConnectionIsBusyAndCostsNoQuery) {
  constexpr int pool_size = 2;
  constexpr int probes = 300;
  scratch_database db(read_file(source_path("tests/integration/fixtures/core.sql")));
  auto env = token_env();
  env["STORYGATE_DATABASE_URL"] = db.url();
  server sg({"serve", "--mapping", mapping_with(slow_field(4), "health.yaml"), "--db-pool-size",
             std::to_string(pool_size), "--pool-wait-ms", "300"},
            env);
  ASSERT_EQ(http_get(sg.port(), "/readyz").status, 200u);

  // Both workers held by requests that sleep in the database.
  std::vector<std::thread> holders;
  for (int i = 0; i < pool_size; ++i) holders.emplace_back([&] { timed_get(sg.port(), "/api/v1/customer/1001", milliseconds(8000)); });
  const auto sleeping = [&] {
    return value_at(db.url(), "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND application_name = 'storygate' AND wait_event = 'PgSleep'");
  };
  ASSERT_TRUE(eventually([&] { return sleeping() == std::to_string(pool_size); }, std::chrono::seconds(3)));
  // The pool is exhausted: an API request now waits 300 ms and gets 503.
  EXPECT_EQ(timed_get(sg.port(), "/api/v1/customer/1002").status, 503u);

  // Sessions that run a query for storygate (the API's and the health
  // check's), sampled while the probes run: never one per probe.
  std::atomic<bool> probing{true};
  std::atomic<int64_t> most_sessions{0}, samples{0};
  std::thread sampler([&] {
    pqxx::connection c(db.url());
    while (probing) {
      pqxx::nontransaction tx(c);
      const auto n = tx.exec("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                             "application_name LIKE 'storygate%'")[0][0].as<int64_t>();
      most_sessions = std::max<int64_t>(most_sessions, n);
      ++samples;
      std::this_thread::sleep_for(milliseconds(5));
    }
  });
  int ok = 0;
  double worst_ms = 0;
  std::string first_failure;
  const auto probes_started = clock_type::now();
  for (int i = 0; i < probes; ++i) {
    const auto r = timed_get(sg.port(), "/readyz", milliseconds(2000));
    worst_ms = std::max(worst_ms, r.ms());
    if (r.status == 200) ++ok;
    else if (first_failure.empty()) first_failure = describe(r);
  }
  const auto probes_took = ms_between(probes_started, clock_type::now());
  probing = false;
  sampler.join();
  for (auto& h : holders) h.join();

  figure("readyz_probes_while_pool_exhausted", probes, "probes");
  figure("readyz_probes_ok_while_pool_exhausted", ok, "probes");
  figure("readyz_worst_ms_while_pool_exhausted", worst_ms, "ms", 1);
  figure("readyz_probes_total_ms", probes_took, "ms");
  figure("storygate_sessions_most_during_probes", static_cast<double>(most_sessions), "sessions");
  EXPECT_EQ(ok, probes) << "first failure: " << first_failure;
  EXPECT_LT(worst_ms, 250.0) << "a probe waited, as if for a pooled connection";
  EXPECT_GT(samples.load(), 0);
  // The pool's two, and the health check's one: a probe opens nothing.
  EXPECT_LE(most_sessions.load(), pool_size + 1);
}

}  // namespace
}  // namespace storygate::testing
