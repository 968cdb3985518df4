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
#include <optional>
#include <set>
#include <fstream>
#include <thread>

#include "clusters.h"
#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::map<std::string, std::string> token_env() { return {{"STORYGATE_BEARER_TOKENS", test_token}}; }


// ---------------------------------------------------------------------------
// 1. Readiness without a query per probe.

TEST(Health, ReadinessIsAnsweredWhileEveryPooledConnectionIsBusyAndCostsNoQuery) {
  constexpr int pool_size = 2;
  constexpr int probes = 300;
  scratch_database db(core_sql());
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
    return query(db.url(), "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND application_name = 'storygate' AND wait_event = 'PgSleep'");
  };
  // EXPECT, not ASSERT, from here on: the threads must be joined however it goes.
  EXPECT_TRUE(eventually([&] { return sleeping() == std::to_string(pool_size); }, std::chrono::seconds(3)));
  // The pool is exhausted: an API request now waits 300 ms and gets 503.
  EXPECT_EQ(timed_get(sg.port(), "/api/v1/customer/1002").status, 503u);

  // Sessions that run a query for storygate (the API's and the health
  // check's), sampled while the probes run: never one per probe.
  std::atomic<bool> probing{true};
  std::atomic<int64_t> most_sessions{0}, samples{0};
  std::thread sampler([&] {
    pqxx::connection c(db.url());
    do {
      pqxx::nontransaction tx(c);
      const auto n = tx.exec("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                             "application_name LIKE 'storygate%'")[0][0].as<int64_t>();
      most_sessions = std::max<int64_t>(most_sessions, n);
      ++samples;
      std::this_thread::sleep_for(milliseconds(5));
    } while (probing);
  });
  // Sampling from before the first probe to after the last.
  EXPECT_TRUE(eventually([&] { return samples > 0; }, std::chrono::seconds(3)));
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

// `check` says, for each server it would read from, what the pool's health
// check finds there: a replica that does not answer is a warning, not a
// failure (the primary serves meanwhile).
TEST(Health, CheckNamesEachServerAndWarnsAboutOneThatIsDown) {
  scratch_database db(core_sql());
  const auto r = run_storygate({"check", "--mapping", core_mapping_path(),
                                "--database-url", db.url(), "--replica-url",
                                "postgresql://nobody@127.0.0.1:1/nowhere", "--connect-timeout-ms", "1000"},
                               token_env());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("database 127.0.0.1:" + std::to_string(port_of(db.url())) + "/" + db.name() +
                          " as postgres: primary\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("warning: database 127.0.0.1:1/nowhere as nobody: down: cannot connect to the database"),
            std::string::npos)
      << r.output;
}

// ---------------------------------------------------------------------------
// 2. A replica that replays late.

constexpr auto apply_delay = std::chrono::seconds(4);
const std::string lag_db = "lag_check";
const std::string reader = "storygate_test_reader";
// Which server answered: a standby is in recovery, the primary is not.
const std::string server_field = "  on_replica: { expression: \"pg_is_in_recovery()\", type: boolean }\n";

// now() on `url` as a last_updated value (UTC), as DailyStory would send
// the time of its sync.
std::string now_as_last_updated(const std::string& url) {
  return query(url, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
}

// The ids of every record a sync from `last_updated` delivers (pages of 50,
// following `next` is not needed at this size), and whether a standby served
// its first page.
struct sync_result {
  unsigned status = 0;
  std::set<std::string> ids;
  bool first_page_from_standby = false;
  std::string body;
};

sync_result sync_from(unsigned short port, const std::string& last_updated) {
  sync_result out;
  for (uint64_t start = 0;; start += 50) {
    const auto r = http_get(port, "/api/v1/customers?limit=50&start=" + std::to_string(start) +
                                      "&last_updated=" + last_updated, bearer());
    out.status = r.status;
    if (start == 0) out.body = r.body;
    if (r.status != 200) return out;
    std::size_t records = 0;
    for (auto at = r.body.find("{\"id\":"); at != std::string::npos; at = r.body.find("{\"id\":", at + 1)) {
      const auto from = at + 6;
      out.ids.insert(r.body.substr(from, r.body.find(',', from) - from));
      ++records;
    }
    if (start == 0) out.first_page_from_standby = r.body.find("\"on_replica\":true") != std::string::npos;
    if (records < 50) return out;
  }
}

class ReplicaLag : public ::testing::TestWithParam<bool> {
 protected:
  // One primary and one late replica for both ways of pointing at it.
  static void SetUpTestSuite() {
    primary_ = pg_cluster::create(free_port(26230, 10)).release();
    query(primary_->admin_url(), "CREATE DATABASE " + lag_db);
    query(primary_->admin_url(lag_db), core_sql());
    replica_ = pg_cluster::replica_of(*primary_, free_port(static_cast<unsigned short>(primary_->port() + 1), 10)).release();
    {
      std::ofstream conf(replica_->dir() + "/data/postgresql.auto.conf", std::ios::app);
      conf << "recovery_min_apply_delay = '" << apply_delay.count() << "s'\n";
    }
    query(replica_->admin_url(), "SELECT pg_reload_conf()");
  }
  static void TearDownTestSuite() {
    delete replica_;
    delete primary_;
  }
  static pg_cluster* primary_;
  static pg_cluster* replica_;
};
pg_cluster* ReplicaLag::primary_ = nullptr;
pg_cluster* ReplicaLag::replica_ = nullptr;

// A change committed on the primary, still waiting to be replayed when the
// sync reads the replica, and older than that sync's time minus the
// overlap: the next sync must still deliver it.
TEST_P(ReplicaLag, AChangeTheReplicaHadNotReplayedReachesTheNextSync) {
  const bool as_replica_url = GetParam();
  ASSERT_TRUE(eventually([&] {
    return query(replica_->admin_url(lag_db), "SELECT count(*) FROM legacy.cust_master") == "121" &&
           query(replica_->admin_url(), "SHOW recovery_min_apply_delay") == std::to_string(apply_delay.count()) + "s";
  })) << replica_->log() << replica_->server_log();
  // Each run changes customers of its own.
  const std::string seen_id = as_replica_url ? "1011" : "1001";  // replayed before the first sync
  const std::string late_id = as_replica_url ? "1012" : "1002";  // not yet replayed then

  std::vector<std::string> args{"serve", "--mapping", mapping_with(server_field, "lag.yaml"), "--sync-overlap-seconds",
                                "1", "--max-replica-lag-seconds", "15", "--db-pool-size", "2"};
  if (as_replica_url) {
    args.insert(args.end(), {"--database-url", primary_->url(reader, lag_db), "--replica-url", replica_->url(reader, lag_db)});
  } else {
    args.insert(args.end(), {"--database-url", replica_->url(reader, lag_db)});
  }
  server sg(with_overrides("STORYGATE_LAG_TEST_OPTIONS", args), token_env());

  const auto primary_url = primary_->admin_url(lag_db);
  const auto touch = [&](const std::string& id) {
    query(primary_url, "UPDATE legacy.cust_master SET last_chg_ts = now() AT TIME ZONE 'America/Chicago' "
                          "WHERE cust_no = " + id + " RETURNING cust_no");
  };
  const auto replica_has = [&](const std::string& id, const std::string& since) {
    return query(replica_->admin_url(lag_db), "SELECT count(*) FROM legacy.cust_master WHERE cust_no = " + id +
                                                     " AND last_chg_ts > ('" + since + "'::timestamptz AT TIME ZONE "
                                                     "'America/Chicago')") == "1";
  };

  const auto before = now_as_last_updated(primary_url);
  touch(seen_id);
  ASSERT_TRUE(eventually([&] { return replica_has(seen_id, before); })) << replica_->server_log();
  touch(late_id);
  const auto late_changed = clock_type::now();
  // Two seconds after the change: past the 1 s overlap, short of the 4 s delay.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto first_sync_time = now_as_last_updated(primary_url);

  // The first sync, read from the replica (with two servers, one request on
  // each worker at once: one of them is the replica's).
  std::optional<sync_result> first;
  for (int attempt = 0; attempt < 5 && !first; ++attempt) {
    std::vector<sync_result> both(2);
    std::vector<std::thread> threads;
    for (auto& r : both) threads.emplace_back([&, out = &r] { *out = sync_from(sg.port(), before); });
    for (auto& t : threads) t.join();
    for (auto& r : both)
      if (r.status == 200 && r.first_page_from_standby && !first) first = r;
  }
  const auto first_sync_done = clock_type::now();
  ASSERT_TRUE(first.has_value()) << "no sync was served by the replica\n" << sg.logs();
  ASSERT_LT(first_sync_done - late_changed, apply_delay) << "too slow: the replica may have replayed the change";
  EXPECT_EQ(first->ids.count(seen_id), 1u) << first->body;
  EXPECT_EQ(first->ids.count(late_id), 0u) << "the replica showed a change it should not have replayed yet";
  ASSERT_FALSE(replica_has(late_id, before)) << "the replica replayed the change early; the test proves nothing";

  // What the operator sees meanwhile.
  const auto metrics = http_get(sg.port(), "/metrics", bearer()).body;
  const std::string replica_name = "127.0.0.1:" + std::to_string(replica_->port()) + "/" + lag_db + " as " + reader;
  EXPECT_NE(metrics.find("storygate_db_server_standby{server=\"" + replica_name + "\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("storygate_replica_lag_seconds{server=\"" + replica_name + "\"}"), std::string::npos) << metrics;

  // The next sync, once the replica has the change, asks from the first one's time.
  ASSERT_TRUE(eventually([&] { return replica_has(late_id, before); })) << replica_->server_log();
  const auto second = sync_from(sg.port(), first_sync_time);
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(second.ids.count(late_id), 1u) << "the change the replica had not replayed was never sent: " << second.body;

  // `check` names the standby and its lag.
  const auto check = run_storygate({"check", "--mapping", core_mapping_path(),
                                    "--database-url", replica_->url(reader, lag_db)},
                                   token_env());
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("database " + replica_name + ": standby, replay lag "), std::string::npos) << check.output;
}

INSTANTIATE_TEST_SUITE_P(PointedAt, ReplicaLag, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& as) {
                           return std::string(as.param ? "AsReplicaUrl" : "AsDatabaseUrl");
                         });

// A standby past --max-replica-lag-seconds is read from by nobody: as the
// only server, requests get 503 and /readyz says not ready until it has
// replayed what it was sent; then it serves again.
TEST_F(ReplicaLag, AStandbyLaggingPastTheBoundServesNothingUntilItCatchesUp) {
  ASSERT_TRUE(eventually([&] {
    return query(replica_->admin_url(), "SHOW recovery_min_apply_delay") == std::to_string(apply_delay.count()) + "s";
  }));
  server sg(with_overrides("STORYGATE_LAG_BOUND_TEST_OPTIONS",
                           {"serve", "--mapping", mapping_with(server_field, "bound.yaml"), "--database-url",
                            replica_->url(reader, lag_db), "--max-replica-lag-seconds", "2"}),
            token_env());
  // Nothing waits to be replayed: the standby lags 0.
  ASSERT_TRUE(eventually([&] { return http_get(sg.port(), "/readyz").status == 200u; })) << sg.logs();
  ASSERT_EQ(http_get(sg.port(), "/api/v1/customers?limit=1", bearer()).status, 200u);

  // A change waits 4 s to be replayed: for 2 s at least, the standby's last
  // replayed transaction is older than 2 s, and the check sees it.
  const auto before = now_as_last_updated(primary_->admin_url(lag_db));
  query(primary_->admin_url(lag_db), "UPDATE legacy.cust_master SET last_chg_ts = now() AT TIME ZONE "
                                        "'America/Chicago' WHERE cust_no = 1021 RETURNING cust_no");
  http_response ready, page;
  EXPECT_TRUE(eventually([&] { return (ready = http_get(sg.port(), "/readyz")).status == 503u; },
                         std::chrono::seconds(4)))
      << ready.status << " " << ready.body;
  page = http_get(sg.port(), "/api/v1/customers?limit=1", bearer());
  const bool replayed_already =
      query(replica_->admin_url(lag_db), "SELECT count(*) FROM legacy.cust_master WHERE cust_no = 1021 AND "
                                            "last_chg_ts > ('" + before + "'::timestamptz AT TIME ZONE 'America/Chicago')") == "1";
  if (!replayed_already) {
    EXPECT_EQ(page.status, 503u) << page.body;
  }
  EXPECT_TRUE(eventually([&] { return sg.logs().find("standby lags too far behind") != std::string::npos; })) << sg.logs();

  // Replayed: ready and serving again.
  EXPECT_TRUE(eventually([&] { return http_get(sg.port(), "/readyz").status == 200u; })) << sg.logs();
  EXPECT_EQ(http_get(sg.port(), "/api/v1/customers?limit=1", bearer()).status, 200u);
}

// ---------------------------------------------------------------------------
// 3. Through pgbouncer in transaction mode (--pgbouncer): the health check
//    and the statement preparation of a reload work there too.

TEST(HealthThroughPgbouncer, ReadyWithItsHealthShownAndAReloadThatCannotServeIsRefused) {
  scratch_database db(core_sql());
  pgbouncer_options options;
  options.server_port = port_of(admin_url());
  options.databases = {db.name()};
  options.users = {"postgres", reader};
  options.pool_size = 2;
  pgbouncer bouncer(options, free_port(26250, 20));
  const auto mapping = mapping_with("", "bouncer-health.yaml");
  server sg({"serve", "--mapping", mapping, "--pgbouncer", "--database-url", bouncer.url(reader, db.name())},
            token_env());

  EXPECT_EQ(http_get(sg.port(), "/readyz").status, 200u);
  const auto metrics = http_get(sg.port(), "/metrics", bearer()).body;
  const std::string name = "127.0.0.1:" + std::to_string(bouncer.port()) + "/" + db.name() + " as " + reader;
  EXPECT_NE(metrics.find("storygate_db_server_up{server=\"" + name + "\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("storygate_replica_lag_seconds{server=\"" + name + "\"} 0"), std::string::npos) << metrics;

  std::ofstream(mapping, std::ios::app) << "  n: { expression: \"count(*)\", type: integer }\n";
  kill(sg.pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return sg.logs().find("mapping reload refused") != std::string::npos; })) << sg.logs();
  EXPECT_NE(sg.logs().find("must appear in the GROUP BY clause"), std::string::npos) << sg.logs();
  EXPECT_EQ(http_get(sg.port(), "/api/v1/customer/244988", bearer()).status, 200u);
  EXPECT_EQ(http_get(sg.port(), "/readyz").status, 200u);
}

}  // namespace
}  // namespace storygate::testing
