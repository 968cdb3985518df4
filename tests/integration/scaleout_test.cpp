// Scaling out the database side, against the real binary:
//
//  1. Read replicas: a primary and a real streaming replica (pg_basebackup),
//     each a cluster of this test's own. storygate spreads its workers over
//     both, serves rows inserted on the primary, fails over to the primary
//     when the replica stops (every request still answered), and moves its
//     workers back once the replica is up again.
//  2. pgbouncer in transaction mode in front of the shared test cluster, with
//     a server pool smaller than storygate's: with --pgbouncer the answers are
//     right (DST offsets come from the per-transaction TimeZone), the real
//     server never sees more than pgbouncer's pool, and no session state is
//     left on the server connections other clients get next; without
//     --pgbouncer the named prepared statements break under concurrency.
//     `storygate check --pgbouncer` runs again and again through it.
//
// Ports: the clusters take the first free ones from 25491, pgbouncer from
// 25494 (the shared test cluster keeps its own).
//
// Figures go to stdout as "FIGURE:" lines and to the test's properties.
// Needs the Debian package pgbouncer (scripts/install-deps.sh) and
// PostgreSQL 15's pg_basebackup; every cluster, replica and pgbouncer is
// taken down at scope exit, whatever happens.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <libpq-fe.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "clusters.h"
#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;


// Which server answered: the replica is in recovery, the primary is not.
const std::string server_fields =
    "  on_replica: { expression: \"pg_is_in_recovery()\", type: boolean }\n"
    "  backend_pid: { expression: \"pg_backend_pid()\", type: integer }\n";

std::map<std::string, std::string> token_env() { return {{"STORYGATE_BEARER_TOKENS", test_token}}; }

rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  return doc;
}

// The first record of a reply: the object itself, or records[0] of a page.
const rapidjson::Value* first_record(const rapidjson::Document& doc) {
  if (doc.HasParseError() || !doc.IsObject()) return nullptr;
  if (doc.HasMember("records")) {
    if (!doc["records"].IsArray() || doc["records"].Empty()) return nullptr;
    return &doc["records"][0];
  }
  return &doc;
}

// Whether a reply came from the replica (on_replica), when it says.
std::optional<bool> served_by_replica(const timed_response& r) {
  if (r.status != 200) return std::nullopt;
  const auto doc = parse_json(r.body());
  const auto* record = first_record(doc);
  if (!record || !record->HasMember("on_replica") || !(*record)["on_replica"].IsBool()) return std::nullopt;
  return (*record)["on_replica"].GetBool();
}

std::string string_field(const timed_response& r, const char* field) {
  const auto doc = parse_json(r.body());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(field) || !doc[field].IsString()) return "<none>";
  return doc[field].GetString();
}

// First column of the first row, on a connection of its own; nullopt when
// the server cannot be reached or the query fails.
std::optional<std::string> try_query(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection c(url + "?connect_timeout=2");
    pqxx::nontransaction tx(c);
    const auto r = tx.exec(sql);
    if (r.empty() || r[0][0].is_null()) return std::string();
    return std::string(r[0][0].c_str());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}


// storygate's sessions (application_name 'storygate') in `dbname` on the
// server at `admin_url`; -1 when it cannot be asked.
int64_t storygate_sessions(const std::string& admin_url, const std::string& dbname) {
  const auto n = try_query(admin_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'storygate' "
                                      "AND datname = '" + dbname + "'");
  return n ? std::stoll(*n) : -1;
}

// Requests from `threads` threads in a loop until stopped; every answer kept.
class load_generator {
 public:
  struct record {
    timed_response r;
    std::string target;
    std::optional<bool> on_replica;
  };

  load_generator(unsigned short port, int threads, std::vector<std::string> targets, milliseconds pause)
      : targets_(std::move(targets)) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this, port, i, pause] {
        for (std::size_t n = static_cast<std::size_t>(i); !stop_; ++n) {
          const auto& target = targets_[n % targets_.size()];
          auto r = timed_get(port, target);
          auto on_replica = served_by_replica(r);
          {
            std::lock_guard lock(mutex_);
            records_.push_back({std::move(r), target, on_replica});
          }
          std::this_thread::sleep_for(pause);
        }
      });
  }
  ~load_generator() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  std::vector<record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

 private:
  const std::vector<std::string> targets_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<record> records_;
  std::vector<std::thread> threads_;
};

// `targets` all at once, one thread each.
std::vector<timed_response> concurrently(unsigned short port, const std::vector<std::string>& targets) {
  std::vector<timed_response> out(targets.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < targets.size(); ++i)
    threads.emplace_back([&, i] { out[i] = timed_get(port, targets[i]); });
  for (auto& t : threads) t.join();
  return out;
}

std::string log_tail(const server& s, std::size_t bytes = 4000) {
  const auto text = s.logs();
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

// ---------------------------------------------------------------------------
// 1. A real streaming replica.

TEST(ScaleReplicas, ReadsSpreadOverAStreamingReplicaFailOverAndComeBack) {
  constexpr unsigned pool_size = 4;
  constexpr auto rebalance_bound = milliseconds(15000);
  const std::string dbname = "scale_replica";
  const std::string reader = "storygate_test_reader";

  auto primary = pg_cluster::create(free_port(25491, 10));
  // pg-cluster.sh's initdb (--auth=trust) lets 127.0.0.1 replicate.
  ASSERT_EQ(query(primary->admin_url(), "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) "
                                        "AND address = '127.0.0.1' AND auth_method = 'trust'"),
            "1")
      << "the primary's pg_hba.conf does not let 127.0.0.1 replicate with trust";
  query(primary->admin_url(), "CREATE DATABASE " + dbname);
  query(primary->admin_url(dbname), core_sql());

  const auto backup_started = clock_type::now();
  auto replica = pg_cluster::replica_of(*primary, free_port(static_cast<unsigned short>(primary->port() + 1), 10));
  const auto replica_up = clock_type::now();
  // Streaming, and the fixture there.
  const auto streaming_by = clock_type::now() + milliseconds(10000);
  bool streaming = false;
  while (!streaming && clock_type::now() < streaming_by) {
    streaming = try_query(primary->admin_url(), "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") ==
                    std::optional<std::string>("1") &&
                try_query(replica->admin_url(dbname), "SELECT pg_is_in_recovery()::text || count(*) FROM legacy.cust_master") ==
                    std::optional<std::string>("true121");
    if (!streaming) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_TRUE(streaming) << "the replica is not streaming:\n" << replica->log() << "\n" << replica->server_log();
  figure("scale_replica_ready_ms", ms_between(backup_started, replica_up), "ms (pg_basebackup + start)");

  server sg({"serve", "--mapping", mapping_with(server_fields, "scale.yaml"), "--database-url",
             primary->url(reader, dbname), "--replica-url", replica->url(reader, dbname), "--db-pool-size",
             std::to_string(pool_size), "--connect-timeout-ms", "1000"},
            token_env());

  // Concurrent rounds put every worker to work: each connects to its own server.
  const std::vector<std::string> round_targets{
      "/api/v1/customer/244988", "/api/v1/customers?limit=3", "/api/v1/customer/1002", "/api/v1/customers?limit=2&start=5",
      "/api/v1/customer/1003",   "/api/v1/customers?limit=4", "/api/v1/customer/1004", "/api/v1/customer/1005"};
  std::size_t warm_ok = 0, warm_total = 0, warm_replica = 0, warm_primary = 0;
  std::string first_warm_failure;
  int64_t sessions_primary = 0, sessions_replica = 0;
  const auto spread_by = clock_type::now() + milliseconds(5000);
  for (int round = 0; round < 5 || ((sessions_primary < 1 || sessions_replica < 1) && clock_type::now() < spread_by);
       ++round) {
    for (const auto& r : concurrently(sg.port(), round_targets)) {
      ++warm_total;
      if (r.status == 200) ++warm_ok;
      else if (first_warm_failure.empty()) first_warm_failure = describe(r);
      const auto on_replica = served_by_replica(r);
      if (on_replica) ++(*on_replica ? warm_replica : warm_primary);
    }
    sessions_primary = storygate_sessions(primary->admin_url(), dbname);
    sessions_replica = storygate_sessions(replica->admin_url(), dbname);
  }
  figure("scale_replica_warm_requests", static_cast<double>(warm_total), "requests");
  figure("scale_replica_warm_served_by_primary", static_cast<double>(warm_primary), "requests");
  figure("scale_replica_warm_served_by_replica", static_cast<double>(warm_replica), "requests");
  figure("scale_replica_sessions_on_primary", static_cast<double>(sessions_primary), "sessions");
  figure("scale_replica_sessions_on_replica", static_cast<double>(sessions_replica), "sessions");
  EXPECT_EQ(warm_ok, warm_total) << "first failure: " << first_warm_failure;
  EXPECT_GE(sessions_primary, 1) << "no storygate session on the primary";
  EXPECT_GE(sessions_replica, 1) << "no storygate session on the replica: queries are not spread";
  EXPECT_LE(sessions_primary + sessions_replica, static_cast<int64_t>(pool_size));
  EXPECT_GE(warm_primary, 1u);
  EXPECT_GE(warm_replica, 1u) << "no request was answered by the replica";

  // A row inserted on the primary reaches the API, and the replica serves it too.
  {
    const auto inserted = clock_type::now();
    query(primary->admin_url(dbname),
          "INSERT INTO legacy.cust_master (cust_no, fname, lname, last_chg_ts) VALUES (5001, 'Fresh', 'Row', now())");
    std::optional<clock_type::time_point> via_api, via_replica;
    const auto until = inserted + milliseconds(5000);
    while ((!via_api || !via_replica) && clock_type::now() < until) {
      const auto r = timed_get(sg.port(), "/api/v1/customer/5001", milliseconds(2000));
      if (r.status == 200) {
        if (!via_api) via_api = r.done;
        if (served_by_replica(r) == std::optional<bool>(true) && !via_replica) via_replica = r.done;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_TRUE(via_api.has_value()) << "a row inserted on the primary was not served within 5 s";
    figure("scale_replica_insert_visible_ms", ms_between(inserted, *via_api), "ms (insert on the primary -> 200)");
    EXPECT_TRUE(via_replica.has_value()) << "the inserted row was never served by the replica within 5 s";
    if (via_replica)
      figure("scale_replica_insert_via_replica_ms", ms_between(inserted, *via_replica), "ms (insert -> 200 from the replica)");
    std::size_t all_found = 0;
    for (const auto& r : concurrently(sg.port(), std::vector<std::string>(8, "/api/v1/customer/5001")))
      all_found += r.status == 200;
    EXPECT_EQ(all_found, 8u) << "once replicated, every worker finds the row";
  }

  // Stop the replica under load; start it again; the workers come back to it.
  load_generator load(sg.port(), 4,
                      {"/api/v1/customer/244988", "/api/v1/customers?limit=5", "/api/v1/customer/5001",
                       "/api/v1/customers?last_updated=2022-01-20&limit=3"},
                      milliseconds(5));
  std::this_thread::sleep_for(milliseconds(1000));
  const auto stop_begin = clock_type::now();
  ASSERT_TRUE(replica->stop()) << replica->log();
  const auto stop_end = clock_type::now();
  std::this_thread::sleep_for(milliseconds(3000));
  const auto sessions_primary_during = storygate_sessions(primary->admin_url(), dbname);
  const auto start_begin = clock_type::now();
  ASSERT_TRUE(replica->start()) << replica->log();
  const auto start_end = clock_type::now();

  std::optional<clock_type::time_point> first_back, all_back;
  int64_t replica_sessions_seen = 0;
  const auto rebalance_until = start_end + milliseconds(20000);
  while (!all_back && clock_type::now() < rebalance_until) {
    const auto n = storygate_sessions(replica->admin_url(), dbname);
    replica_sessions_seen = std::max(replica_sessions_seen, n);
    if (n >= 1 && !first_back) first_back = clock_type::now();
    if (n >= static_cast<int64_t>(pool_size / 2)) all_back = clock_type::now();
    else std::this_thread::sleep_for(milliseconds(100));
  }
  std::this_thread::sleep_for(milliseconds(500));
  load.stop();
  const auto sessions_primary_after = storygate_sessions(primary->admin_url(), dbname);
  const auto sessions_replica_after = storygate_sessions(replica->admin_url(), dbname);

  std::size_t total = 0, ok = 0, unavailable = 0, other = 0, outage = 0, outage_ok = 0, outage_on_replica = 0;
  std::size_t after_restart_on_replica = 0;
  double worst_ms = 0, outage_worst_ms = 0;
  std::string first_bad;
  for (const auto& rec : load.records()) {
    ++total;
    worst_ms = std::max(worst_ms, rec.r.ms());
    if (rec.r.status == 200) ++ok;
    else if (rec.r.status == 503) ++unavailable;
    else ++other;
    if (rec.r.status != 200 && first_bad.empty()) first_bad = rec.target + ": " + describe(rec.r);
    if (rec.r.sent >= stop_end && rec.r.done <= start_begin) {
      ++outage;
      outage_ok += rec.r.status == 200;
      outage_on_replica += rec.on_replica == std::optional<bool>(true);
      outage_worst_ms = std::max(outage_worst_ms, rec.r.ms());
    }
    if (rec.r.sent >= start_end && rec.on_replica == std::optional<bool>(true)) ++after_restart_on_replica;
  }
  figure("scale_failover_requests_total", static_cast<double>(total), "requests");
  figure("scale_failover_requests_non_200", static_cast<double>(total - ok), "requests");
  figure("scale_failover_requests_503", static_cast<double>(unavailable), "requests");
  figure("scale_failover_worst_ms", worst_ms, "ms");
  figure("scale_failover_replica_stop_ms", ms_between(stop_begin, stop_end), "ms (pg-cluster.sh stop)");
  figure("scale_failover_outage_requests", static_cast<double>(outage), "requests (sent after the stop, done before the restart)");
  figure("scale_failover_outage_worst_ms", outage_worst_ms, "ms");
  figure("scale_failover_sessions_on_primary_during_outage", static_cast<double>(sessions_primary_during), "sessions");
  figure("scale_rebalance_first_session_ms", first_back ? ms_between(start_end, *first_back) : -1,
         "ms (replica started -> a storygate session on it)");
  figure("scale_rebalance_all_sessions_ms", all_back ? ms_between(start_end, *all_back) : -1,
         "ms (replica started -> pool/2 sessions on it)");
  figure("scale_rebalance_from_failover_ms", first_back ? ms_between(stop_end, *first_back) : -1,
         "ms (replica stopped -> first session back on it)");
  figure("scale_rebalance_requests_on_replica_after_restart", static_cast<double>(after_restart_on_replica), "requests");
  figure("scale_rebalance_sessions_primary_after", static_cast<double>(sessions_primary_after), "sessions");
  figure("scale_rebalance_sessions_replica_after", static_cast<double>(sessions_replica_after), "sessions");

  EXPECT_EQ(ok, total) << "every request must be answered 200 across the replica's stop and start; "
                       << unavailable << " were 503, " << other << " other; first: " << first_bad;
  EXPECT_GT(outage, 20u) << "too little load while the replica was down to say anything";
  EXPECT_EQ(outage_ok, outage);
  EXPECT_EQ(outage_on_replica, 0u) << "answers from a stopped replica?";
  EXPECT_GE(sessions_primary_during, 1);
  EXPECT_LE(sessions_primary_during, static_cast<int64_t>(pool_size));
  ASSERT_TRUE(first_back.has_value()) << "no storygate session on the replica within 20 s of its restart:\n"
                                      << log_tail(sg);
  EXPECT_LE(ms_between(start_end, *first_back), static_cast<double>(rebalance_bound.count()))
      << "workers must return to the replica within " << rebalance_bound.count() << " ms of its restart";
  EXPECT_TRUE(all_back.has_value()) << "only " << replica_sessions_seen << " session(s) came back to the replica";
  EXPECT_GE(after_restart_on_replica, 1u) << "no request answered by the replica after its restart";
  EXPECT_LE(sessions_primary_after + sessions_replica_after, static_cast<int64_t>(pool_size))
      << "more sessions than --db-pool-size after fail-over and back";
  EXPECT_TRUE(sg.running());
  if (HasFailure()) std::printf("storygate log:\n%s\n", log_tail(sg).c_str());
}

// ---------------------------------------------------------------------------
// 2. pgbouncer in transaction mode.

constexpr unsigned bouncer_pool = 2;
constexpr unsigned storygate_pool = 4;
const std::string reader = "storygate_test_reader";

// A scratch database on the shared cluster with core.sql and two customers
// with summer and winter timestamptz values, behind a pgbouncer of its own.
class ScalePgbouncer : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<scratch_database>(core_sql());
    db_->exec("UPDATE legacy.cust_master SET first_order = '2022-01-15 09:00:00', "
              "last_order = '2022-07-15 14:00:00+00' WHERE cust_no = 1001; "
              "UPDATE legacy.cust_master SET last_order = '2022-01-15 15:00:00+00' WHERE cust_no = 1002");
    pgbouncer_options options;
    options.server_port = port_of(admin_url());
    options.databases = {db_->name()};
    options.users = {"postgres", reader};
    options.pool_mode = "transaction";
    options.pool_size = bouncer_pool;
    bouncer_ = std::make_unique<pgbouncer>(options, free_port(25494, 20));
  }
  void TearDown() override {
    if (HasFailure() && bouncer_) std::printf("pgbouncer log:\n%s\n", bouncer_->log().c_str());
    bouncer_.reset();  // before the database is dropped
    db_.reset();
  }

  std::unique_ptr<server> start_storygate(bool pgbouncer_switch) {
    std::vector<std::string> args{"serve", "--mapping", core_mapping_path(),
                                  "--database-url", bouncer_->url(reader, db_->name()), "--db-pool-size",
                                  std::to_string(storygate_pool), "--max-limit", "50", "--sync-overlap-seconds", "0"};
    if (pgbouncer_switch) args.push_back("--pgbouncer");
    return std::make_unique<server>(args, token_env());
  }

  // The server connections pgbouncer holds for storygate's database and user
  // (pids on the real server).
  std::set<std::string> server_pids() const {
    std::set<std::string> pids;
    pqxx::connection c(admin_url());
    pqxx::nontransaction tx(c);
    for (const auto& row : tx.exec_params("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename = $2",
                                          db_->name(), reader))
      pids.insert(row[0].c_str());
    return pids;
  }

  // What each of pgbouncer's server connections in storygate's pool holds,
  // as the next client of that pool sees it: `bouncer_pool` clients through
  // pgbouncer as storygate's user, each inside a transaction at the same
  // time, so each has a server connection of its own.
  struct server_connection_state {
    std::string pid, statement_timeout, read_only, time_zone;
    int64_t prepared = -1;
  };
  std::vector<server_connection_state> inspect_server_connections() const {
    std::vector<std::unique_ptr<pqxx::connection>> clients;
    std::vector<std::unique_ptr<pqxx::work>> transactions;
    std::vector<server_connection_state> states;
    for (unsigned i = 0; i < bouncer_pool; ++i) {
      clients.push_back(std::make_unique<pqxx::connection>(bouncer_->url(reader, db_->name()) + "?connect_timeout=5"));
      transactions.push_back(std::make_unique<pqxx::work>(*clients.back()));
      const auto row = transactions.back()->exec1(
          "SELECT pg_backend_pid()::text, current_setting('statement_timeout'), "
          "current_setting('default_transaction_read_only'), current_setting('TimeZone'), "
          "(SELECT count(*) FROM pg_prepared_statements)");
      states.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str(), row[4].as<int64_t>()});
    }
    for (auto& t : transactions) t->abort();
    return states;
  }

  std::unique_ptr<scratch_database> db_;
  std::unique_ptr<pgbouncer> bouncer_;
};

// SHOW POOLS on pgbouncer's admin console, through libpq itself: libpqxx
// refuses a server whose version is pgbouncer's ("1.18.0").
class bouncer_console {
 public:
  explicit bouncer_console(const std::string& url) : c_(PQconnectdb((url + "?connect_timeout=2").c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) {
      const std::string why = PQerrorMessage(c_);
      PQfinish(c_);
      throw std::runtime_error("pgbouncer console: " + why);
    }
  }
  ~bouncer_console() { PQfinish(c_); }
  bouncer_console(const bouncer_console&) = delete;
  bouncer_console& operator=(const bouncer_console&) = delete;

  // SHOW POOLS' row for one database and user, by column name.
  std::map<std::string, std::string> pool(const std::string& dbname, const std::string& user) {
    PGresult* r = PQexec(c_, "SHOW POOLS");
    std::map<std::string, std::string> row;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      const std::string why = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error("SHOW POOLS: " + why);
    }
    const int db_col = PQfnumber(r, "database"), user_col = PQfnumber(r, "user");
    for (int i = 0; i < PQntuples(r); ++i) {
      if (PQgetvalue(r, i, db_col) != dbname || PQgetvalue(r, i, user_col) != user) continue;
      for (int f = 0; f < PQnfields(r); ++f) row[PQfname(r, f)] = PQgetvalue(r, i, f);
    }
    PQclear(r);
    return row;
  }

 private:
  PGconn* c_;
};

int64_t number(const std::map<std::string, std::string>& row, const std::string& column) {
  const auto found = row.find(column);
  return found == row.end() || found->second.empty() ? 0 : std::stoll(found->second);
}

// Samples, every 5 ms, the real server's sessions for storygate's database
// and user, and pgbouncer's pool for them.
class pool_sampler {
 public:
  pool_sampler(std::string server_url, std::string bouncer_admin_url, std::string dbname)
      : thread_([this, server_url, bouncer_admin_url, dbname] {
          std::unique_ptr<pqxx::connection> server;
          std::unique_ptr<bouncer_console> console;
          while (!stop_) {
            try {
              if (!server) server = std::make_unique<pqxx::connection>(server_url + "?connect_timeout=2");
              if (!console) console = std::make_unique<bouncer_console>(bouncer_admin_url);
              {
                pqxx::nontransaction tx(*server);
                const auto n = tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND usename = $2",
                                               dbname, reader)[0]
                                   .as<int64_t>();
                server_max_ = std::max<int64_t>(server_max_, n);
              }
              const auto row = console->pool(dbname, reader);
              const auto active = number(row, "cl_active"), waiting = number(row, "cl_waiting");
              clients_max_ = std::max<int64_t>(clients_max_, active + waiting);
              waiting_max_ = std::max<int64_t>(waiting_max_, waiting);
              servers_max_ = std::max<int64_t>(servers_max_, number(row, "sv_active") + number(row, "sv_idle") +
                                                                 number(row, "sv_used") + number(row, "sv_tested") +
                                                                 number(row, "sv_login"));
              ++samples_;
            } catch (const std::exception& e) {
              {
                std::lock_guard lock(mutex_);
                if (error_.empty()) error_ = e.what();
              }
              server.reset();
              console.reset();
              std::this_thread::sleep_for(milliseconds(50));
            }
            std::this_thread::sleep_for(milliseconds(5));
          }
        }) {}
  ~pool_sampler() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t server_max() const { return server_max_; }
  int64_t clients_max() const { return clients_max_; }
  int64_t waiting_max() const { return waiting_max_; }
  int64_t servers_max() const { return servers_max_; }
  int64_t samples() const { return samples_; }
  std::string error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> server_max_{0}, clients_max_{0}, waiting_max_{0}, servers_max_{0}, samples_{0};
  mutable std::mutex mutex_;
  std::string error_;
  std::thread thread_;
};

struct load_tally {
  std::size_t total = 0, ok = 0, server_errors = 0, other = 0, wrong_offsets = 0;
  std::string first_failure, first_wrong_offset;
};

// `threads` threads of `per_thread` requests: single records (1001's summer
// offset checked in every answer) and pages.
load_tally hammer(unsigned short port, int threads, int per_thread) {
  load_tally tally;
  std::mutex mutex;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int n = 0; n < per_thread; ++n) {
        const int kind = (n + t) % 3;
        const std::string target = kind == 0   ? "/api/v1/customer/1001"
                                   : kind == 1 ? "/api/v1/customer/" + std::to_string(1002 + (n * 7 + t) % 118)
                                               : "/api/v1/customers?limit=5&start=" + std::to_string((n * 5 + t) % 100);
        const auto r = timed_get(port, target);
        std::lock_guard lock(mutex);
        ++tally.total;
        if (r.status == 200) ++tally.ok;
        else if (r.status >= 500) ++tally.server_errors;
        else ++tally.other;
        if (r.status != 200 && tally.first_failure.empty()) tally.first_failure = target + ": " + describe(r);
        if (r.status == 200 && kind == 0 && string_field(r, "date_last_order") != "2022-07-15T09:00:00-05:00") {
          ++tally.wrong_offsets;
          if (tally.first_wrong_offset.empty()) tally.first_wrong_offset = string_field(r, "date_last_order");
        }
      }
    });
  for (auto& w : workers) w.join();
  return tally;
}

TEST_F(ScalePgbouncer, TransactionModeAnswersRightWithinThePoolAndLeavesNoSessionState) {
  const auto sg = start_storygate(true);
  const auto port = sg->port();

  // One record, exactly.
  const auto single = timed_get(port, "/api/v1/customer/244988");
  ASSERT_EQ(single.status, 200u) << describe(single) << "\n" << log_tail(*sg);
  EXPECT_EQ(single.body(), core_example_record);

  // Offsets in summer and winter: the TimeZone set for the transaction.
  const auto summer = timed_get(port, "/api/v1/customer/1001");
  const auto winter = timed_get(port, "/api/v1/customer/1002");
  EXPECT_EQ(string_field(summer, "date_first_order"), "2022-01-15T09:00:00-06:00") << describe(summer);
  EXPECT_EQ(string_field(summer, "date_last_order"), "2022-07-15T09:00:00-05:00") << describe(summer);
  EXPECT_EQ(string_field(winter, "date_last_order"), "2022-01-15T09:00:00-06:00") << describe(winter);

  // A whole paged walk: every id exactly once.
  {
    std::multiset<int> seen;
    int count = -1, pages = 0;
    std::string failure;
    for (int start = 0; pages < 40; start += 7, ++pages) {
      const auto r = timed_get(port, "/api/v1/customers?last_updated=2022-01-05T00:00:00&limit=7&start=" +
                                         std::to_string(start));
      const auto doc = parse_json(r.body());
      if (r.status != 200 || doc.HasParseError() || !doc.IsObject() || !doc.HasMember("records")) {
        failure = describe(r);
        break;
      }
      count = doc["count"].GetInt();
      if (doc["records"].Empty()) break;
      for (const auto& rec : doc["records"].GetArray()) seen.insert(rec["id"].GetInt());
    }
    EXPECT_TRUE(failure.empty()) << failure;
    EXPECT_EQ(count, 106);
    EXPECT_EQ(seen.size(), 106u);
    EXPECT_EQ(std::set<int>(seen.begin(), seen.end()).size(), seen.size()) << "an id came twice";
    EXPECT_EQ(seen.count(1015), 0u);
    EXPECT_EQ(seen.count(1016), 1u);
  }

  // Concurrent load: more storygate connections than pgbouncer has servers.
  pool_sampler sampler(admin_url(), bouncer_->admin_url(), db_->name());
  const auto load_began = clock_type::now();
  const auto tally = hammer(port, 8, 60);
  const double load_ms = ms_between(load_began, clock_type::now());
  std::this_thread::sleep_for(milliseconds(100));
  sampler.stop();

  figure("scale_pgbouncer_requests", static_cast<double>(tally.total), "requests");
  figure("scale_pgbouncer_requests_non_200", static_cast<double>(tally.total - tally.ok), "requests");
  figure("scale_pgbouncer_wrong_offsets", static_cast<double>(tally.wrong_offsets), "answers");
  figure("scale_pgbouncer_load_ms", load_ms, "ms (8 threads x 60 requests)");
  figure("scale_pgbouncer_server_sessions_max", static_cast<double>(sampler.server_max()),
         "sessions on PostgreSQL (pgbouncer pool " + std::to_string(bouncer_pool) + ")");
  figure("scale_pgbouncer_client_connections_max", static_cast<double>(sampler.clients_max()),
         "storygate connections to pgbouncer (--db-pool-size " + std::to_string(storygate_pool) + ")");
  figure("scale_pgbouncer_clients_waiting_max", static_cast<double>(sampler.waiting_max()), "clients");
  figure("scale_pgbouncer_server_connections_max", static_cast<double>(sampler.servers_max()),
         "server connections in pgbouncer's pool (SHOW POOLS)");
  figure("scale_pgbouncer_samples", static_cast<double>(sampler.samples()), "samples");

  EXPECT_EQ(tally.ok, tally.total) << "first failure: " << tally.first_failure;
  EXPECT_EQ(tally.wrong_offsets, 0u) << "1001's summer timestamp served as " << tally.first_wrong_offset;
  EXPECT_GT(sampler.samples(), 10) << sampler.error();
  EXPECT_GE(sampler.server_max(), 1);
  EXPECT_LE(sampler.server_max(), static_cast<int64_t>(bouncer_pool)) << "PostgreSQL saw more than pgbouncer's pool";
  EXPECT_LE(sampler.servers_max(), static_cast<int64_t>(bouncer_pool));
  EXPECT_GT(sampler.clients_max(), static_cast<int64_t>(bouncer_pool))
      << "storygate never had more connections to pgbouncer than pgbouncer has servers: the test proves little";

  // No session state on the server connections storygate used: the next
  // client of the pool sees the server's defaults.
  const std::string default_timeout = query(admin_url(), "SHOW statement_timeout");
  const auto pids_before = server_pids();
  const auto states = inspect_server_connections();
  std::set<std::string> inspected;
  std::string timeouts, read_only, zones;
  int64_t prepared = 0;
  for (const auto& s : states) {
    inspected.insert(s.pid);
    timeouts += (timeouts.empty() ? "" : ",") + s.statement_timeout;
    read_only += (read_only.empty() ? "" : ",") + s.read_only;
    zones += (zones.empty() ? "" : ",") + s.time_zone;
    prepared += s.prepared;
    EXPECT_EQ(s.statement_timeout, default_timeout) << "statement_timeout left set on server connection " << s.pid;
    EXPECT_EQ(s.read_only, "off") << "default_transaction_read_only left set on server connection " << s.pid;
    EXPECT_EQ(s.prepared, 0) << "prepared statements left on server connection " << s.pid;
  }
  figure_text("scale_pgbouncer_next_client_statement_timeout", timeouts + " (server default " + default_timeout + ")");
  figure_text("scale_pgbouncer_next_client_read_only", read_only);
  figure_text("scale_pgbouncer_next_client_time_zone", zones);
  figure("scale_pgbouncer_next_client_prepared_statements", static_cast<double>(prepared), "statements");
  EXPECT_EQ(inspected.size(), static_cast<std::size_t>(bouncer_pool)) << "two clients in transactions shared a server?";
  for (const auto& pid : pids_before)
    EXPECT_EQ(inspected.count(pid), 1u) << "server connection " << pid << " storygate may have used was not inspected";

  // Still serving afterwards.
  EXPECT_EQ(timed_get(port, "/api/v1/customer/244988").status, 200u);
  EXPECT_TRUE(sg->running());
  if (HasFailure()) std::printf("storygate log:\n%s\n", log_tail(*sg).c_str());
}

// Without --pgbouncer, storygate prepares named statements on what it takes
// for a session: behind a transaction pooler each statement may land on
// another server connection. This shows the switch is needed.
TEST_F(ScalePgbouncer, WithoutTheSwitchNamedPreparedStatementsBreakUnderConcurrency) {
  const auto sg = start_storygate(false);
  const auto port = sg->port();

  // Session settings made on a pooled server connection stay for its next
  // client: looked at after the first round, before any server connection
  // is replaced.
  std::size_t leaked_timeout = 0, leaked_read_only = 0, leaked_prepared = 0;
  const auto inspect_leaks = [&] {
    const std::string default_timeout = query(admin_url(), "SHOW statement_timeout");
    for (const auto& s : inspect_server_connections()) {
      leaked_timeout += s.statement_timeout != default_timeout;
      leaked_read_only += s.read_only != "off";
      leaked_prepared += s.prepared > 0;
    }
  };

  load_tally tally;
  const auto until = clock_type::now() + milliseconds(8000);
  int rounds = 0;
  while (clock_type::now() < until && rounds < 5 && (rounds < 2 || tally.server_errors == 0)) {
    if (rounds == 1) inspect_leaks();
    // Statements prepared on every server connection (the same names from
    // each of storygate's connections) can keep working for a while; a
    // server connection pgbouncer opens anew (server_lifetime, a restart,
    // here a terminated backend) holds none of them, while storygate's
    // connection to pgbouncer believes it does.
    if (rounds > 0 && tally.server_errors == 0)
      for (const auto& pid : server_pids()) query(admin_url(), "SELECT pg_terminate_backend(" + pid + ")");
    const auto t = hammer(port, 8, 15);
    tally.total += t.total;
    tally.ok += t.ok;
    tally.server_errors += t.server_errors;
    tally.other += t.other;
    tally.wrong_offsets += t.wrong_offsets;
    if (tally.first_failure.empty()) tally.first_failure = t.first_failure;
    if (tally.first_wrong_offset.empty()) tally.first_wrong_offset = t.first_wrong_offset;
    ++rounds;
  }
  const std::string logs = sg->logs();
  const auto count_of = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = logs.find(needle); at != std::string::npos; at = logs.find(needle, at + 1)) ++n;
    return n;
  };
  const auto missing = count_of(R"(\" does not exist)");
  const auto duplicate = count_of(R"(\" already exists)");
  const auto prepared_errors = count_of("ERROR:  prepared statement");
  figure("scale_no_switch_requests", static_cast<double>(tally.total), "requests");
  figure("scale_no_switch_5xx", static_cast<double>(tally.server_errors), "requests");
  figure("scale_no_switch_other_non_200", static_cast<double>(tally.other), "requests");
  figure("scale_no_switch_log_prepared_statement_errors", static_cast<double>(prepared_errors), "log lines");
  figure("scale_no_switch_log_does_not_exist_26000", static_cast<double>(missing), "log lines");
  figure("scale_no_switch_log_already_exists_42P05", static_cast<double>(duplicate), "log lines");
  figure("scale_no_switch_wrong_offsets", static_cast<double>(tally.wrong_offsets), "answers (of the 200s)");
  std::printf("first failure: %s\n", tally.first_failure.c_str());

  figure("scale_no_switch_server_connections_with_statement_timeout", static_cast<double>(leaked_timeout), "of 2");
  figure("scale_no_switch_server_connections_read_only", static_cast<double>(leaked_read_only), "of 2");
  figure("scale_no_switch_server_connections_with_prepared_statements", static_cast<double>(leaked_prepared), "of 2");

  EXPECT_GT(tally.server_errors, 0u) << "no failure in " << tally.total
                                     << " requests: named prepared statements worked through a transaction pooler?";
  EXPECT_GT(prepared_errors, 0u) << "the failures were not prepared-statement errors:\n" << log_tail(*sg);
  EXPECT_GE(leaked_timeout, 1u) << "storygate's session SET did not reach the pool's next client";
  EXPECT_GE(leaked_prepared, 1u);
}

// `storygate check` with --pgbouncer, run again and again through the same
// pgbouncer, as an operator or a deploy script would.
TEST_F(ScalePgbouncer, CheckRunsAgainAndAgainThroughTransactionPooling) {
  constexpr int runs = 3;
  int failed = 0;
  std::string first_failure;
  for (int i = 0; i < runs; ++i) {
    const auto r = run_storygate({"check", "--pgbouncer", "--mapping", core_mapping_path(),
                                  "--database-url", bouncer_->url(reader, db_->name())},
                                 {}, std::chrono::seconds(30));
    if (r.exit_code != 0 && ++failed == 1)
      first_failure = "run " + std::to_string(i + 1) + " exited " + std::to_string(r.exit_code) + ":\n" + r.output;
  }
  int64_t left_prepared = 0;
  for (const auto& s : inspect_server_connections()) left_prepared += s.prepared;
  figure("scale_check_runs_failed", failed, "of " + std::to_string(runs));
  figure("scale_check_prepared_statements_left_in_pool", static_cast<double>(left_prepared), "statements");
  EXPECT_EQ(failed, 0) << first_failure;
  EXPECT_EQ(left_prepared, 0) << "storygate check left named prepared statements on pgbouncer's server connections";
}

// An SQL_ASCII database whose names hold bytes that are not UTF-8, behind
// pgbouncer in transaction mode: each transaction asks for the bytes as
// stored (SET LOCAL, db/session_setup.h), so the records are served with
// U+FFFD, not refused, whichever server connection runs them.
TEST(ScalePgbouncerSqlAscii, BytesThatAreNotUtf8AreServedThroughTransactionPooling) {
  scratch_database db(core_sql(), "SQL_ASCII");
  {
    pqxx::connection c(db.url() + "?client_encoding=SQL_ASCII");
    pqxx::nontransaction tx(c);
    tx.exec("UPDATE legacy.cust_master SET fname = 'H\xe9l\xe8ne' WHERE cust_no BETWEEN 1001 AND 1060");
  }
  pgbouncer_options options;
  options.server_port = port_of(admin_url());
  options.databases = {db.name()};
  options.users = {reader};
  pgbouncer bouncer(options, free_port(25474, 20));
  server srv({"serve", "--mapping", core_mapping_path(), "--database-url", bouncer.url(reader, db.name()),
              "--pgbouncer", "--db-pool-size", "4"},
             token_env());
  for (int id = 1001; id <= 1060; id += 7) {
    const auto res = http_get(srv.port(), "/api/v1/customer/" + std::to_string(id), bearer());
    ASSERT_EQ(res.status, 200u) << id << ": " << res.body << "\n" << bouncer.log();
    EXPECT_NE(res.body.find("\"first_name\":\"H\xEF\xBF\xBDl\xEF\xBF\xBDne\""), std::string::npos) << res.body;
  }
  const auto page = http_get(srv.port(), "/api/v1/customers?limit=50&last_updated=2022-01-01", bearer());
  ASSERT_EQ(page.status, 200u) << page.body;
  EXPECT_NE(page.body.find("H\xEF\xBF\xBDl\xEF\xBF\xBDne"), std::string::npos);
  EXPECT_EQ(srv.logs().find("\"level\":\"error\""), std::string::npos) << srv.logs();
}

}  // namespace
}  // namespace storygate::testing
