// Database faults against the real binary: PostgreSQL restarted under load, a
// frozen network path (tcp_proxy), statement_timeout, an exhausted pool and
// terminated backends. Each test prints the figures the README's reliability
// section quotes, as RecordProperty and as stdout lines starting "FIGURE:".
//
// Every protection can be switched off to watch its test fail. Settings:
//   FAULTS_STORYGATE_ARGS="--statement-timeout-ms 10000"  FaultStatementTimeout fails (200 after 3 s)
//   FAULTS_STORYGATE_ARGS="--db-pool-size 6"              FaultPoolExhausted fails (6 served, no 503)
// (FAULTS_STORYGATE_ARGS replaces the options it names on every storygate
// command line of this file, or adds them.) Protections in src/db/pool.cpp,
// each removed in a scratch copy of the tree:
//   reconnect backoff capped at 30 s, not 1 s    FaultRestart (service back ~2.9 s after PostgreSQL)
//   queued jobs never expire                     FaultPoolExhausted (6 served, the last after 6 s)
//   no retry when a reused connection is broken  FaultTerminatedBackends (503s after the terminate)
//   no SET default_transaction_read_only         FaultTerminatedBackends (ro is "off")
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "core_database.h"
#include "harness.h"
#include "tcp_proxy.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Unlike read_file, never throws: the pg-cluster log is read on a failure
// path and in a destructor.
std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Replaces the port of a postgresql://user@host:port/db URL.
std::string with_port(const std::string& url, unsigned short port) {
  const auto at = url.find('@');
  const auto colon = url.find(':', at);
  const auto slash = url.find('/', colon);
  return url.substr(0, colon + 1) + std::to_string(port) + url.substr(slash);
}

// Besides its pool, storygate holds one connection per server for the
// pool's health check (application_name storygate-health).
constexpr int health_check_sockets = 1;
const std::string pid_field = "  backend_pid: { expression: \"pg_backend_pid()\", type: integer }\n";
const std::string read_only_field =
    "  ro: { expression: \"current_setting('default_transaction_read_only')\", type: string }\n";

rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  return doc;
}

// A JSON error body {"error": "..."} with a JSON content type.
bool is_json_error(const timed_response& r) {
  if (r.header("content-type").rfind("application/json", 0) != 0) return false;
  const auto doc = parse_json(r.response.body);
  return !doc.HasParseError() && doc.IsObject() && doc.HasMember("error") && doc["error"].IsString();
}

// 503 JSON with Retry-After, or 504 JSON.
::testing::AssertionResult is_unavailable_answer(const timed_response& r) {
  if (r.status != 503 && r.status != 504)
    return ::testing::AssertionFailure() << "expected 503 or 504 JSON, got " << describe(r);
  if (!is_json_error(r)) return ::testing::AssertionFailure() << "not a JSON error: " << describe(r);
  if (r.status == 503 && r.header("retry-after").empty())
    return ::testing::AssertionFailure() << "503 without Retry-After: " << describe(r);
  return ::testing::AssertionSuccess();
}

int64_t json_int(const timed_response& r, const char* field) {
  const auto doc = parse_json(r.response.body);
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(field) || !doc[field].IsInt64()) return -1;
  return doc[field].GetInt64();
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

// Counts storygate's sessions (application_name 'storygate') in `dbname`.
int64_t storygate_sessions(pqxx::connection& admin, const std::string& dbname) {
  pqxx::nontransaction tx(admin);
  return tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'storygate' "
                         "AND datname = $1",
                         dbname)[0]
      .as<int64_t>();
}

std::set<int64_t> storygate_backend_pids(pqxx::connection& admin, const std::string& dbname) {
  pqxx::nontransaction tx(admin);
  std::set<int64_t> pids;
  for (const auto& row : tx.exec_params("SELECT pid FROM pg_stat_activity WHERE application_name = 'storygate' "
                                        "AND datname = $1",
                                        dbname))
    pids.insert(row[0].as<int64_t>());
  return pids;
}

// Waits (up to 5 s) until storygate's pool has `count` sessions open.
bool pool_sessions_open(pqxx::connection& admin, const std::string& dbname, std::size_t count) {
  const auto until = clock_type::now() + std::chrono::seconds(5);
  while (storygate_backend_pids(admin, dbname).size() < count) {
    if (clock_type::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string pids_text(const std::set<int64_t>& pids) {
  std::string text;
  for (auto p : pids) text += (text.empty() ? "" : ",") + std::to_string(p);
  return "{" + text + "}";
}

// A process's TCP sockets to 127.0.0.1:`port` (from /proc), by state: the
// client side of the connection-leak story. A connection that PostgreSQL
// closed and storygate dropped without closing stays behind in CLOSE_WAIT.
struct socket_count {
  int total = 0;
  int established = 0;
  int close_wait = 0;
};

socket_count sockets_to(int pid, unsigned short port) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(entry.path(), link_ec).string();
    if (!link_ec && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  socket_count count;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      const auto colon = remote.rfind(':');
      if (colon == std::string::npos || std::stoul(remote.substr(colon + 1), nullptr, 16) != port) continue;
      if (!inodes.count(inode)) continue;
      ++count.total;
      count.established += state == "01";
      count.close_wait += state == "08";
    }
  }
  return count;
}

std::string describe(const socket_count& c) {
  return std::to_string(c.total) + " (" + std::to_string(c.established) + " established, " +
         std::to_string(c.close_wait) + " CLOSE_WAIT)";
}

// Samples storygate's session count every `every` on its own connection,
// reconnecting when the database goes away; keeps the largest count seen.
class session_monitor {
 public:
  session_monitor(std::string admin_url, std::string dbname, milliseconds every)
      : thread_([this, admin_url, dbname, every] {
          std::unique_ptr<pqxx::connection> admin;
          while (!stop_) {
            try {
              if (!admin) admin = std::make_unique<pqxx::connection>(admin_url + "?connect_timeout=2");
              const auto n = storygate_sessions(*admin, dbname);
              max_ = std::max<int64_t>(max_, n);
              ++samples_;
            } catch (const std::exception&) {
              admin.reset();
            }
            std::this_thread::sleep_for(every);
          }
        }) {}
  ~session_monitor() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t max() const { return max_; }
  int64_t samples() const { return samples_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> max_{0};
  std::atomic<int64_t> samples_{0};
  std::thread thread_;
};

// The last part of storygate's log, for failure messages.
std::string log_tail(const server& s, std::size_t bytes = 3000) {
  const auto text = s.logs();
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

std::map<std::string, std::string> server_env(const std::string& database_url) {
  return {{"STORYGATE_DATABASE_URL", database_url}, {"STORYGATE_BEARER_TOKENS", test_token}};
}

// Runs `f` at scope exit (joins load threads however the test ends).
struct at_exit {
  std::function<void()> f;
  ~at_exit() { f(); }
};

// ---------------------------------------------------------------------------
// 1. PostgreSQL stopped and started again under load, on a cluster of its own.

constexpr unsigned short own_cluster_port = 25471;

// A throwaway cluster made with scripts/pg-cluster.sh, destroyed at scope exit.
class own_cluster {
 public:
  explicit own_cluster(unsigned short port) : port_(port) {
    char dir[] = "/tmp/faults-restart-XXXXXX";
    if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    chmod(dir_.c_str(), 0755);
    log_ = write_temp_file("pg-cluster.log", "");
    if (!run("start")) {
      const auto log = read_text(log_);
      run("destroy");
      throw std::runtime_error("pg-cluster.sh start failed:\n" + log);
    }
  }
  ~own_cluster() {
    if (!run("destroy")) std::fprintf(stderr, "pg-cluster.sh destroy %s failed:\n%s\n", dir_.c_str(), read_text(log_).c_str());
  }
  own_cluster(const own_cluster&) = delete;
  own_cluster& operator=(const own_cluster&) = delete;

  bool start() { return run("start"); }
  bool stop() { return run("stop"); }
  std::string admin_url() const { return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres"; }
  std::string url(const std::string& user, const std::string& dbname) const {
    return "postgresql://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
  }
  std::string log() const { return read_text(log_); }

 private:
  bool run(const std::string& command) {
    std::string line = source_path("scripts/pg-cluster.sh") + " " + command + " " + dir_;
    if (command == "start") line += " " + std::to_string(port_);
    line += " >/dev/null 2>>" + log_;
    return std::system(line.c_str()) == 0;
  }
  unsigned short port_;
  std::string dir_;
  std::string log_;
};

struct load_record {
  timed_response r;
  std::string target;
};

TEST(FaultRestart, ServiceReturnsAfterPostgresRestartsUnderLoad) {
  constexpr unsigned pool_size = 3;
  constexpr auto pool_wait = milliseconds(1000);
  // Every answer, outage or not, within the pool wait plus a margin.
  constexpr auto request_deadline = pool_wait + milliseconds(1000);
  constexpr auto outage = milliseconds(3000);
  constexpr auto recovery_bound = milliseconds(2000);

  own_cluster cluster(own_cluster_port);
  const std::string dbname = "faults_restart";
  {
    pqxx::connection admin(cluster.admin_url());
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + dbname);
  }
  {
    pqxx::connection c(cluster.url("postgres", dbname));
    pqxx::nontransaction tx(c);
    tx.exec(core_sql());
  }

  server sg(with_overrides("FAULTS_STORYGATE_ARGS",
                           {"serve", "--mapping", core_mapping_path(),
                            "--db-pool-size", std::to_string(pool_size), "--pool-wait-ms",
                            std::to_string(pool_wait.count()), "--connect-timeout-ms", "1000"}),
            server_env(cluster.url("storygate_test_reader", dbname)));

  session_monitor monitor(cluster.admin_url(), dbname, milliseconds(50));
  std::mutex records_mutex;
  std::vector<load_record> records;
  std::atomic<bool> stop_load{false};
  std::atomic<bool> recovered{false};
  std::atomic<clock_type::time_point::rep> stopped_at{clock_type::time_point::max().time_since_epoch().count()};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&, i] {
      for (int n = 0; !stop_load; ++n) {
        const std::string target = (n + i) % 2 ? "/api/v1/customer/244988" : "/api/v1/customers?limit=5";
        auto r = timed_get(sg.port(), target, milliseconds(5000));
        if (r.status == 200 && r.sent.time_since_epoch().count() >= stopped_at.load()) recovered = true;
        std::lock_guard lock(records_mutex);
        records.push_back({std::move(r), target});
      }
    });
  at_exit join_clients{[&] {
    stop_load = true;
    for (auto& t : clients)
      if (t.joinable()) t.join();
  }};

  std::this_thread::sleep_for(milliseconds(1000));
  int64_t sessions_before = -1;
  const auto sockets_before = sockets_to(sg.pid(), own_cluster_port);
  try {
    pqxx::connection admin(cluster.admin_url());
    sessions_before = storygate_sessions(admin, dbname);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "counting sessions: " << e.what();
  }

  const auto stop_begin = clock_type::now();
  EXPECT_TRUE(cluster.stop()) << cluster.log();
  const auto stop_end = clock_type::now();
  stopped_at = stop_end.time_since_epoch().count();
  std::this_thread::sleep_for(outage);
  // When PostgreSQL really accepts connections again (pg-cluster.sh polls
  // pg_isready every 0.2 s, so its return is a little late).
  std::atomic<bool> stop_probe{false};
  std::optional<clock_type::time_point> accepting_at;
  std::thread probe([&] {
    while (!stop_probe) {
      const auto tried = clock_type::now();
      try {
        pqxx::connection c(cluster.admin_url() + "?connect_timeout=2");
        accepting_at = tried;
        return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  });
  const auto start_begin = clock_type::now();
  const bool started = cluster.start();
  const auto start_end = clock_type::now();
  EXPECT_TRUE(started) << cluster.log();
  // Load until a request sent after the stop succeeds, then a little longer.
  while (!recovered && clock_type::now() < start_end + milliseconds(10000))
    std::this_thread::sleep_for(milliseconds(5));
  std::this_thread::sleep_for(milliseconds(1000));
  stop_probe = true;
  probe.join();
  stop_load = true;
  for (auto& t : clients) t.join();
  clients.clear();
  std::this_thread::sleep_for(milliseconds(200));
  monitor.stop();

  int64_t sessions_after = -1;
  {
    pqxx::connection admin(cluster.admin_url());
    sessions_after = storygate_sessions(admin, dbname);
  }
  const auto sockets_after = sockets_to(sg.pid(), own_cluster_port);

  // Sort out what happened.
  std::size_t total = 0, ok = 0, unavailable = 0, during_outage = 0, outage_503 = 0, no_answer = 0;
  std::vector<double> outage_ms;
  double worst_ms = 0;
  std::string first_bad, first_slow, first_outage_non_503;
  std::optional<clock_type::time_point> first_200_after;
  for (const auto& [r, target] : records) {
    ++total;
    worst_ms = std::max(worst_ms, r.ms());
    if (r.status == 0) ++no_answer;
    if (r.status == 200) ++ok;
    if (r.status == 503) ++unavailable;
    if (r.status != 200 && !(r.status == 503 && is_unavailable_answer(r)) && first_bad.empty())
      first_bad = target + ": " + describe(r);
    if (r.ms() > static_cast<double>(request_deadline.count()) && first_slow.empty())
      first_slow = target + ": " + describe(r);
    // Sent after PostgreSQL had stopped, answered before it was started again.
    if (r.sent >= stop_end && r.done <= start_begin) {
      ++during_outage;
      outage_ms.push_back(r.ms());
      if (r.status == 503 && is_unavailable_answer(r)) ++outage_503;
      else if (first_outage_non_503.empty()) first_outage_non_503 = target + ": " + describe(r);
    }
    if (r.status == 200 && r.sent >= stop_end && (!first_200_after || r.done < *first_200_after))
      first_200_after = r.done;
  }
  // Negative when storygate served before pg-cluster.sh noticed the cluster was ready.
  const double recovery_ms = first_200_after ? ms_between(start_end, *first_200_after) : -1;
  const double recovery_from_accept_ms =
      first_200_after && accepting_at ? ms_between(*accepting_at, *first_200_after) : -1;

  figure("restart_requests_total", static_cast<double>(total), "requests");
  figure("restart_requests_503", static_cast<double>(unavailable), "requests");
  figure("restart_outage_requests", static_cast<double>(during_outage), "requests");
  figure("restart_outage_503_p50_ms", percentile(outage_ms, 0.5), "ms");
  figure("restart_outage_503_max_ms", percentile(outage_ms, 1.0), "ms");
  figure("restart_worst_response_ms", worst_ms, "ms");
  figure("restart_pg_stop_ms", ms_between(stop_begin, stop_end), "ms");
  figure("restart_pg_start_ms", ms_between(start_begin, start_end), "ms");
  figure("restart_recovery_ms", recovery_ms, "ms (pg-cluster start returned -> first 200)");
  figure("restart_recovery_from_accept_ms", recovery_from_accept_ms,
         "ms (first successful libpq connect -> first 200)");
  figure("restart_sessions_before", static_cast<double>(sessions_before), "sessions");
  figure("restart_sessions_after", static_cast<double>(sessions_after), "sessions");
  figure("restart_sessions_max", static_cast<double>(monitor.max()), "sessions");
  figure("restart_client_sockets_before", sockets_before.total, "sockets");
  figure("restart_client_sockets_after", sockets_after.total, "sockets");
  figure("restart_client_sockets_after_close_wait", sockets_after.close_wait, "sockets");

  EXPECT_TRUE(sg.running()) << "storygate exited during the outage:\n" << log_tail(sg);
  EXPECT_EQ(timed_get(sg.port(), "/healthz", milliseconds(2000)).status, 200u);
  EXPECT_GT(during_outage, 10u) << "too little load during the outage to say anything";
  EXPECT_EQ(outage_503, during_outage) << "during the outage every answer must be 503 JSON with Retry-After; first other: "
                                       << first_outage_non_503;
  EXPECT_TRUE(first_bad.empty()) << "every answer must be 200 or 503 JSON with Retry-After; first other: " << first_bad;
  EXPECT_EQ(no_answer, 0u) << "requests left unanswered";
  EXPECT_TRUE(first_slow.empty()) << "answers must come within " << request_deadline.count() << " ms; first late: "
                                  << first_slow;
  ASSERT_TRUE(first_200_after.has_value()) << "no 200 within 10 s of PostgreSQL's restart:\n" << log_tail(sg);
  ASSERT_TRUE(accepting_at.has_value()) << "PostgreSQL never accepted a connection again";
  EXPECT_LE(recovery_ms, static_cast<double>(recovery_bound.count()))
      << "service must return within " << recovery_bound.count() << " ms of pg-cluster.sh start returning";
  EXPECT_LE(recovery_from_accept_ms, static_cast<double>(recovery_bound.count()))
      << "service must return within " << recovery_bound.count() << " ms of PostgreSQL accepting connections";
  EXPECT_GE(sessions_before, 1);
  EXPECT_LE(sessions_before, static_cast<int64_t>(pool_size));
  EXPECT_GE(sessions_after, 1);
  EXPECT_LE(sessions_after, static_cast<int64_t>(pool_size)) << "connections leaked across the restart";
  EXPECT_LE(monitor.max(), static_cast<int64_t>(pool_size)) << "more sessions than --db-pool-size at some point";
  EXPECT_LE(sockets_before.total, static_cast<int>(pool_size) + health_check_sockets) << describe(sockets_before);
  EXPECT_LE(sockets_after.total, static_cast<int>(pool_size) + health_check_sockets)
      << "storygate holds more sockets to PostgreSQL than its pool: " << describe(sockets_after);
  EXPECT_EQ(sockets_after.close_wait, 0) << describe(sockets_after);
  if (HasFailure()) std::printf("storygate log:\n%s\n", log_tail(sg).c_str());
}

// ---------------------------------------------------------------------------
// Tests 2-5 share one scratch database on the test cluster.

class FaultSuite : public core_database_suite {
 protected:
  static pqxx::connection admin() { return pqxx::connection(admin_url()); }
};

// ---------------------------------------------------------------------------
// 2. A frozen network path: storygate reaches PostgreSQL through tcp_proxy.

class FaultFrozenDatabase : public FaultSuite {
 protected:
  static constexpr auto statement_timeout = milliseconds(1000);
  static constexpr auto pool_wait = milliseconds(1000);
  static constexpr auto shutdown_timeout = milliseconds(1000);
  // What an operator reads off the settings: a request waits at most
  // pool_wait for a connection, then its query runs at most statement_timeout.
  static constexpr auto deadline = pool_wait + statement_timeout + milliseconds(1000);

  void SetUp() override {
    proxy_ = std::make_unique<tcp_proxy>(port_of(admin_url()));
    const auto url = with_port(db_->url_as("storygate_test_reader"), proxy_->port()) +
                     "?keepalives_idle=1&keepalives_interval=1&keepalives_count=2&tcp_user_timeout=2000";
    server_ = std::make_unique<server>(
        with_overrides("FAULTS_STORYGATE_ARGS",
                       {"serve", "--mapping", mapping_with(slow_field(3), "faults.yaml"), "--db-pool-size", "2",
                        "--statement-timeout-ms", std::to_string(statement_timeout.count()), "--pool-wait-ms",
                        std::to_string(pool_wait.count()), "--connect-timeout-ms", "2000",
                        "--shutdown-timeout-ms", std::to_string(shutdown_timeout.count())}),
        server_env(url));
    // Open (and prepare) both pooled connections.
    std::thread other([&] { warm_ = timed_get(server_->port(), "/api/v1/customer/1002", milliseconds(3000)); });
    const auto first = timed_get(server_->port(), "/api/v1/customer/1003", milliseconds(3000));
    other.join();
    ASSERT_EQ(first.status, 200u) << describe(first);
    ASSERT_EQ(warm_.status, 200u) << describe(warm_);
  }
  void TearDown() override {
    // Whatever the test did, let the stuck workers go so storygate can stop.
    proxy_->thaw();
    proxy_->drop_all();
    if (HasFailure() && server_) std::printf("storygate log:\n%s\n", log_tail(*server_).c_str());
    server_.reset();
    proxy_.reset();
  }

  // Runs timed_get on a thread; the result is ready after join().
  struct pending_request {
    std::thread thread;
    timed_response result;
    std::atomic<bool> done{false};
    ~pending_request() {
      if (thread.joinable()) thread.join();
    }
  };
  std::unique_ptr<pending_request> fire(const std::string& target, milliseconds timeout) {
    auto p = std::make_unique<pending_request>();
    p->thread = std::thread([this, raw = p.get(), target, timeout] {
      raw->result = timed_get(server_->port(), target, timeout);
      raw->done = true;
    });
    return p;
  }
  static bool wait_all(const std::vector<pending_request*>& requests, clock_type::time_point until) {
    for (;;) {
      if (std::all_of(requests.begin(), requests.end(), [](auto* r) { return r->done.load(); })) return true;
      if (clock_type::now() >= until) return false;
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  timed_response first_200_within(milliseconds bound) {
    const auto until = clock_type::now() + bound;
    timed_response r;
    do {
      r = timed_get(server_->port(), "/api/v1/customer/244988", milliseconds(3000));
      if (r.status == 200) break;
      std::this_thread::sleep_for(milliseconds(20));
    } while (clock_type::now() < until);
    return r;
  }

  std::unique_ptr<tcp_proxy> proxy_;
  std::unique_ptr<server> server_;
  timed_response warm_;
};

// The requirement: a request whose database stopped answering fails with 503
// or 504 JSON within the configured deadline, and no worker stays stuck.
TEST_F(FaultFrozenDatabase, RequestInFlightFailsWithinTheDeadline) {
  // A: its query (customer 1001 sleeps 3 s) is running in PostgreSQL when the
  // path freezes; statement_timeout cancels it there at 1 s, but the 504
  // cannot come back.
  auto in_flight = fire("/api/v1/customer/1001", milliseconds(15000));
  std::this_thread::sleep_for(milliseconds(300));
  proxy_->freeze();
  const auto frozen_at = clock_type::now();
  // B: sent just after the freeze; takes the other worker, whose idle
  // connection now leads nowhere.
  auto next = fire("/api/v1/customer/244988", milliseconds(15000));
  std::this_thread::sleep_for(milliseconds(100));
  // C, D: queued behind them.
  auto queued1 = fire("/api/v1/customer/1002", milliseconds(15000));
  auto queued2 = fire("/api/v1/customers?limit=3", milliseconds(15000));
  std::vector<pending_request*> all{in_flight.get(), next.get(), queued1.get(), queued2.get()};
  const bool answered_while_frozen = wait_all(all, frozen_at + deadline + milliseconds(2000));
  std::map<std::string, std::string> while_frozen;
  const std::vector<std::pair<std::string, pending_request*>> named{
      {"in_flight", in_flight.get()}, {"next", next.get()}, {"queued1", queued1.get()}, {"queued2", queued2.get()}};
  for (const auto& [name, p] : named)
    while_frozen[name] = p->done ? describe(p->result) : std::string("still waiting");

  const auto thawed_at = clock_type::now();
  proxy_->thaw();
  wait_all(all, thawed_at + milliseconds(8000));
  const auto after_thaw = first_200_within(milliseconds(5000));
  for (auto* p : all) p->thread.join();

  for (const auto& [name, p] : named) {
    std::printf("%s: while frozen: %s; in the end: %s\n", name.c_str(), while_frozen[name].c_str(),
                describe(p->result).c_str());
    figure("frozen_" + name + "_status", p->result.status, "");
    figure("frozen_" + name + "_answer_ms", p->result.status ? ms_between(frozen_at, p->result.done) : -1,
           "ms after the freeze");
    figure("frozen_" + name + "_answered_after_thaw_ms",
           p->result.done > thawed_at ? ms_between(thawed_at, p->result.done) : -1, "ms after the thaw (-1: before)");
  }
  figure("frozen_window_ms", ms_between(frozen_at, thawed_at), "ms");
  figure("frozen_thaw_to_200_ms", after_thaw.status == 200 ? ms_between(thawed_at, after_thaw.done) : -1, "ms");

  for (const auto& [name, p] : named) {
    EXPECT_TRUE(is_unavailable_answer(p->result)) << name << ": " << describe(p->result);
    const double waited = ms_between(frozen_at, p->result.done);
    EXPECT_TRUE(p->result.done <= thawed_at && waited <= static_cast<double>(deadline.count()))
        << name << " must be answered within " << deadline.count() << " ms of the freeze (pool wait "
        << pool_wait.count() << " + statement timeout " << statement_timeout.count()
        << " + 1000 margin) while the path stays frozen; while frozen: " << while_frozen[name];
  }
  EXPECT_TRUE(answered_while_frozen) << "requests still unanswered " << ms_between(frozen_at, thawed_at)
                                     << " ms after the freeze: workers stuck on the frozen connections";
  EXPECT_EQ(after_thaw.status, 200u) << "no service after the thaw: " << describe(after_thaw);
}

// Dropping the frozen connections (what a dead peer's reset would do) must
// free the workers, and service must come back when the path does.
TEST_F(FaultFrozenDatabase, DroppedConnectionsFreeTheWorkers) {
  proxy_->freeze();
  const auto frozen_at = clock_type::now();
  auto stuck = fire("/api/v1/customer/244988", milliseconds(15000));
  std::this_thread::sleep_for(milliseconds(500));
  const auto dropped_at = clock_type::now();
  proxy_->drop_all();  // still frozen: reconnecting leads nowhere either
  // The worker sees the reset, retries once on a new connection, which cannot
  // get through the frozen proxy: connect_timeout (2 s) ends it.
  wait_all({stuck.get()}, dropped_at + milliseconds(6000));
  const bool answered = stuck->done;
  const auto thawed_at = clock_type::now();
  proxy_->thaw();
  const auto after = first_200_within(milliseconds(5000));
  stuck->thread.join();

  std::printf("stuck request: %s (answered %s the thaw)\n", describe(stuck->result).c_str(),
              answered ? "before" : "after");
  figure("dropped_stuck_status", stuck->result.status, "");
  figure("dropped_answer_after_drop_ms", stuck->result.status ? ms_between(dropped_at, stuck->result.done) : -1, "ms");
  figure("dropped_answer_after_freeze_ms", stuck->result.status ? ms_between(frozen_at, stuck->result.done) : -1, "ms");
  figure("dropped_thaw_to_200_ms", after.status == 200 ? ms_between(thawed_at, after.done) : -1, "ms");

  EXPECT_TRUE(answered) << "the request was not answered within 6 s of its connection being reset";
  EXPECT_TRUE(is_unavailable_answer(stuck->result)) << describe(stuck->result);
  EXPECT_LE(ms_between(dropped_at, stuck->result.done), 2000.0 + 1500.0)
      << "a reset connection must end the request within connect_timeout (2 s) + margin";
  EXPECT_EQ(after.status, 200u) << describe(after);
  EXPECT_LE(ms_between(thawed_at, after.done), 2000.0) << "service must return within 2 s of the path coming back";
}

// SIGTERM gives requests in flight --shutdown-timeout-ms; a worker stuck on a
// frozen connection must not keep the process alive past it.
TEST_F(FaultFrozenDatabase, ShutdownIsNotHeldByAStuckWorker) {
  proxy_->freeze();
  auto stuck = fire("/api/v1/customer/244988", milliseconds(15000));
  std::this_thread::sleep_for(milliseconds(300));
  const auto bound = shutdown_timeout + milliseconds(2000);
  const auto asked = clock_type::now();
  // server::stop sends SIGTERM, waits `bound` (whole seconds), then SIGKILLs.
  const int exit_code = server_->stop(SIGTERM, std::chrono::duration_cast<std::chrono::seconds>(bound));
  const double took = ms_between(asked, clock_type::now());
  proxy_->thaw();
  stuck->thread.join();
  std::printf("stuck request: %s\n", describe(stuck->result).c_str());
  figure("shutdown_with_stuck_worker_ms", took, "ms");
  figure("shutdown_with_stuck_worker_exit_code", exit_code, "");
  EXPECT_EQ(exit_code, 0) << "storygate did not exit by itself within " << bound.count()
                          << " ms of SIGTERM (killed: " << (exit_code == 128 + SIGKILL) << ")";
  EXPECT_LE(took, static_cast<double>(bound.count()));
}

// ---------------------------------------------------------------------------
// 3. statement_timeout: PostgreSQL cancels, storygate answers 504, the
// connection stays in the pool.

class FaultStatementTimeout : public FaultSuite {};

TEST_F(FaultStatementTimeout, SlowQueryIs504AndTheConnectionIsReused) {
  constexpr auto statement_timeout = milliseconds(500);
  server sg(with_overrides("FAULTS_STORYGATE_ARGS",
                           {"serve", "--mapping", mapping_with(slow_field(3) + pid_field, "faults.yaml"),
                            "--db-pool-size", "1", "--statement-timeout-ms", std::to_string(statement_timeout.count())}),
            server_env(db_->url_as("storygate_test_reader")));
  auto admin_connection = admin();

  const auto before = timed_get(sg.port(), "/api/v1/customer/244988", milliseconds(3000));
  ASSERT_EQ(before.status, 200u) << describe(before);
  const auto pid_before = json_int(before, "backend_pid");
  const auto sessions_before = storygate_backend_pids(admin_connection, db_->name());

  const auto slow = timed_get(sg.port(), "/api/v1/customer/1001", milliseconds(6000));
  int64_t sleeping = -1;
  {
    pqxx::nontransaction tx(admin_connection);
    sleeping = tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active' "
                               "AND (wait_event = 'PgSleep' OR query ILIKE '%pg_sleep%') AND pid <> pg_backend_pid()",
                               db_->name())[0]
                   .as<int64_t>();
  }
  const auto after = timed_get(sg.port(), "/api/v1/customer/244988", milliseconds(3000));
  const auto sessions_after = storygate_backend_pids(admin_connection, db_->name());

  std::printf("slow: %s\nbackends before %s, after %s; served by %lld then %lld\n", describe(slow).c_str(),
              pids_text(sessions_before).c_str(), pids_text(sessions_after).c_str(),
              static_cast<long long>(pid_before), static_cast<long long>(json_int(after, "backend_pid")));
  figure("statement_timeout_setting_ms", static_cast<double>(statement_timeout.count()), "ms");
  figure("statement_timeout_504_ms", slow.ms(), "ms");
  figure("statement_timeout_active_sleeps_after", static_cast<double>(sleeping), "queries");
  figure("statement_timeout_backend_reused", json_int(after, "backend_pid") == pid_before ? 1 : 0, "(1: yes)");

  EXPECT_EQ(slow.status, 504u) << describe(slow);
  EXPECT_TRUE(is_json_error(slow)) << describe(slow);
  EXPECT_NE(slow.response.body.find("did not answer in time"), std::string::npos) << slow.response.body;
  EXPECT_LE(slow.ms(), 1000.0) << "504 must come about when statement_timeout (500 ms) fires";
  EXPECT_EQ(sleeping, 0) << "the cancelled query is still running in PostgreSQL";
  EXPECT_EQ(after.status, 200u) << describe(after);
  EXPECT_EQ(json_int(after, "backend_pid"), pid_before) << "the connection was not reused";
  EXPECT_EQ(sessions_before.size(), 1u);
  EXPECT_EQ(sessions_after, sessions_before) << "the pool's backends changed";
  if (HasFailure()) std::printf("storygate log:\n%s\n", log_tail(sg).c_str());
}

// ---------------------------------------------------------------------------
// 4. Pool exhausted: two slow requests hold both connections; the others get
// 503 after the pool wait, and PostgreSQL never sees a third session.

class FaultPoolExhausted : public FaultSuite {};

TEST_F(FaultPoolExhausted, ExcessRequestsGet503AfterThePoolWait) {
  constexpr unsigned pool_size = 2;
  constexpr auto pool_wait = milliseconds(300);
  constexpr int concurrent = 6;
  server sg(with_overrides("FAULTS_STORYGATE_ARGS",
                           {"serve", "--mapping", mapping_with(slow_field(2), "faults.yaml"), "--db-pool-size",
                            std::to_string(pool_size), "--pool-wait-ms", std::to_string(pool_wait.count()),
                            "--statement-timeout-ms", "5000"}),
            server_env(db_->url_as("storygate_test_reader")));
  // The pool opens its connections at start: requests that arrive while
  // one is still opening share its first round trip (pipelining), which is
  // not what this test is about.
  auto admin_connection = admin();
  ASSERT_TRUE(pool_sessions_open(admin_connection, db_->name(), pool_size));
  session_monitor monitor(admin_url(), db_->name(), milliseconds(20));

  std::vector<timed_response> results(concurrent);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrent; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (!go) std::this_thread::yield();
      results[static_cast<std::size_t>(i)] = timed_get(sg.port(), "/api/v1/customer/1001", milliseconds(8000));
    });
  while (ready < concurrent) std::this_thread::yield();
  go = true;
  for (auto& t : threads) t.join();
  const auto afterwards = timed_get(sg.port(), "/api/v1/customer/244988", milliseconds(3000));
  std::this_thread::sleep_for(milliseconds(100));
  monitor.stop();

  std::vector<double> served_ms, busy_ms;
  std::size_t other = 0;
  std::string first_other;
  for (const auto& r : results) {
    std::printf("%s\n", describe(r).c_str());
    if (r.status == 200) {
      served_ms.push_back(r.ms());
    } else if (r.status == 503 && is_unavailable_answer(r) &&
               r.response.body.find("busy") != std::string::npos) {
      busy_ms.push_back(r.ms());
    } else {
      ++other;
      if (first_other.empty()) first_other = describe(r);
    }
  }
  figure("pool_exhausted_served", static_cast<double>(served_ms.size()), "requests");
  figure("pool_exhausted_busy_503", static_cast<double>(busy_ms.size()), "requests");
  figure("pool_exhausted_served_max_ms", percentile(served_ms, 1.0), "ms");
  figure("pool_exhausted_503_min_ms", percentile(busy_ms, 0.0), "ms");
  figure("pool_exhausted_503_max_ms", percentile(busy_ms, 1.0), "ms");
  figure("pool_exhausted_sessions_max", static_cast<double>(monitor.max()), "sessions");

  EXPECT_EQ(served_ms.size(), pool_size);
  EXPECT_EQ(busy_ms.size(), concurrent - pool_size) << "each beyond the pool: 503 JSON 'busy' with Retry-After";
  EXPECT_EQ(other, 0u) << first_other;
  for (double ms : served_ms) {
    EXPECT_GE(ms, 1900.0);
    EXPECT_LE(ms, 3000.0);
  }
  for (double ms : busy_ms) {
    EXPECT_GE(ms, static_cast<double>(pool_wait.count()) - 20) << "503 before the pool wait was over";
    EXPECT_LE(ms, static_cast<double>(pool_wait.count()) + 400) << "503 long after the pool wait";
  }
  EXPECT_GT(monitor.samples(), 20);
  EXPECT_LE(monitor.max(), static_cast<int64_t>(pool_size)) << "more sessions than --db-pool-size";
  EXPECT_EQ(afterwards.status, 200u) << describe(afterwards);
  if (HasFailure()) std::printf("storygate log:\n%s\n", log_tail(sg).c_str());
}

// ---------------------------------------------------------------------------
// 5. pg_terminate_backend on idle sessions: the next requests succeed on new
// sessions (statements prepared again), which are read-only like the old.

class FaultTerminatedBackends : public FaultSuite {};

TEST_F(FaultTerminatedBackends, NextRequestsSucceedOnNewReadOnlySessions) {
  constexpr unsigned pool_size = 2;
  server sg(with_overrides("FAULTS_STORYGATE_ARGS",
                           {"serve", "--mapping", mapping_with(pid_field + read_only_field, "faults.yaml"),
                            "--db-pool-size", std::to_string(pool_size)}),
            server_env(db_->url_as("storygate_test_reader")));
  auto admin_connection = admin();

  // Concurrent rounds open both connections.
  const auto round = [&](std::vector<timed_response>& out) {
    std::vector<std::thread> threads;
    std::mutex m;
    const std::vector<std::string> targets{"/api/v1/customer/244988", "/api/v1/customers?limit=3",
                                           "/api/v1/customer/1002", "/api/v1/customers?limit=2&start=5"};
    for (const auto& target : targets)
      threads.emplace_back([&, target] {
        auto r = timed_get(sg.port(), target, milliseconds(5000));
        std::lock_guard lock(m);
        out.push_back(std::move(r));
      });
    for (auto& t : threads) t.join();
  };
  const auto pid_and_ro = [](const timed_response& r, std::set<int64_t>& pids, std::set<std::string>& ro) {
    const auto doc = parse_json(r.response.body);
    if (doc.HasParseError() || !doc.IsObject()) return;
    const auto take = [&](const rapidjson::Value& record) {
      if (record.HasMember("backend_pid") && record["backend_pid"].IsInt64()) pids.insert(record["backend_pid"].GetInt64());
      if (record.HasMember("ro") && record["ro"].IsString()) ro.insert(record["ro"].GetString());
    };
    if (doc.HasMember("records") && doc["records"].IsArray()) {
      for (const auto& record : doc["records"].GetArray()) take(record);
    } else {
      take(doc);
    }
  };

  std::vector<timed_response> warm;
  for (int i = 0; i < 3; ++i) round(warm);
  std::set<int64_t> old_pids;
  std::set<std::string> ro_before;
  for (const auto& r : warm) {
    ASSERT_EQ(r.status, 200u) << describe(r);
    pid_and_ro(r, old_pids, ro_before);
  }
  const auto sessions = storygate_backend_pids(admin_connection, db_->name());
  EXPECT_EQ(sessions, old_pids) << "pg_stat_activity (application_name 'storygate') and the pids that served differ";

  const unsigned short pg_port = port_of(admin_url());
  const auto sockets_before = sockets_to(sg.pid(), pg_port);
  int64_t terminated = 0;
  {
    pqxx::nontransaction tx(admin_connection);
    for (const auto& row : tx.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                          "WHERE application_name = 'storygate' AND datname = $1",
                                          db_->name()))
      terminated += row[0].as<bool>();
  }
  const auto gone_by = clock_type::now() + milliseconds(3000);
  while (!storygate_backend_pids(admin_connection, db_->name()).empty() && clock_type::now() < gone_by)
    std::this_thread::sleep_for(milliseconds(10));
  ASSERT_TRUE(storygate_backend_pids(admin_connection, db_->name()).empty()) << "backends not gone";

  std::vector<timed_response> after;
  const auto first = timed_get(sg.port(), "/api/v1/customer/244988", milliseconds(5000));
  after.push_back(first);
  for (int i = 0; i < 3; ++i) round(after);
  for (int i = 0; i < 4; ++i) after.push_back(timed_get(sg.port(), "/api/v1/customers?limit=2", milliseconds(5000)));
  std::set<int64_t> new_pids;
  std::set<std::string> ro_after;
  std::size_t failed = 0;
  std::string first_failure;
  for (const auto& r : after) {
    if (r.status != 200 && ++failed == 1) first_failure = describe(r);
    pid_and_ro(r, new_pids, ro_after);
  }
  std::this_thread::sleep_for(milliseconds(100));
  const auto sockets_after = sockets_to(sg.pid(), pg_port);
  std::set<int64_t> reused;
  std::set_intersection(old_pids.begin(), old_pids.end(), new_pids.begin(), new_pids.end(),
                        std::inserter(reused, reused.begin()));
  std::printf("backends before %s, after %s\n", pids_text(old_pids).c_str(), pids_text(new_pids).c_str());

  figure("terminate_backends_terminated", static_cast<double>(terminated), "sessions");
  figure("terminate_failed_requests_after", static_cast<double>(failed), "requests");
  figure("terminate_requests_after", static_cast<double>(after.size()), "requests");
  figure("terminate_first_request_ms", first.ms(), "ms");
  figure("terminate_client_sockets_before", sockets_before.total, "sockets");
  figure("terminate_client_sockets_after", sockets_after.total, "sockets");
  figure("terminate_client_sockets_after_close_wait", sockets_after.close_wait, "sockets");
  figure_text("terminate_read_only_setting", ro_after.size() == 1 ? *ro_after.begin() : "mixed or missing");

  EXPECT_GE(terminated, 1);
  EXPECT_EQ(failed, 0u) << "requests after pg_terminate_backend must succeed transparently; first failure: "
                        << first_failure;
  EXPECT_FALSE(new_pids.empty());
  EXPECT_TRUE(reused.empty()) << "a terminated backend served again?";
  EXPECT_LE(storygate_backend_pids(admin_connection, db_->name()).size(), pool_size);
  EXPECT_LE(sockets_after.total, static_cast<int>(pool_size) + health_check_sockets)
      << "storygate holds more sockets to PostgreSQL than its pool: " << describe(sockets_after);
  EXPECT_EQ(sockets_after.close_wait, 0) << describe(sockets_after);
  EXPECT_EQ(ro_before, std::set<std::string>{"on"}) << "sessions must be read-only";
  EXPECT_EQ(ro_after, std::set<std::string>{"on"}) << "new sessions must be read-only too";
  if (HasFailure()) std::printf("storygate log:\n%s\n", log_tail(sg).c_str());
}

// ---------------------------------------------------------------------------
// Reloading the mapping (SIGHUP) opens a session to check the new mapping:
// it must be closed again, or every reload costs the database a session.

class FaultSessions : public FaultSuite {};

TEST_F(FaultSessions, MappingReloadsDoNotLeakSessions) {
  constexpr unsigned pool_size = 1;
  constexpr int reloads = 3;
  server sg(with_overrides("FAULTS_STORYGATE_ARGS", {"serve", "--mapping", mapping_with("", "faults.yaml"),
                                                     "--db-pool-size", std::to_string(pool_size)}),
            server_env(db_->url_as("storygate_test_reader")));
  auto admin_connection = admin();
  ASSERT_EQ(timed_get(sg.port(), "/api/v1/customer/244988", milliseconds(3000)).status, 200u);
  const auto at_start = storygate_sessions(admin_connection, db_->name());
  const auto count_reloads = [&] {
    const auto text = sg.logs();
    std::size_t n = 0;
    for (auto at = text.find("\"mapping reloaded\""); at != std::string::npos;
         at = text.find("\"mapping reloaded\"", at + 1))
      ++n;
    return n;
  };
  for (int i = 1; i <= reloads; ++i) {
    kill(sg.pid(), SIGHUP);
    const auto until = clock_type::now() + milliseconds(3000);
    while (count_reloads() < static_cast<std::size_t>(i) && clock_type::now() < until)
      std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(count_reloads(), static_cast<std::size_t>(reloads)) << log_tail(sg);
  std::this_thread::sleep_for(milliseconds(200));
  const auto after = storygate_sessions(admin_connection, db_->name());
  EXPECT_EQ(timed_get(sg.port(), "/api/v1/customer/244988", milliseconds(3000)).status, 200u);

  figure("reload_sessions_at_start", static_cast<double>(at_start), "sessions");
  figure("reload_sessions_after_3_reloads", static_cast<double>(after), "sessions");
  EXPECT_LE(at_start, static_cast<int64_t>(pool_size)) << "a session besides the pool's is open after start-up";
  EXPECT_LE(after, static_cast<int64_t>(pool_size)) << "sessions opened by the reloads were not closed";
}

}  // namespace
}  // namespace storygate::testing
