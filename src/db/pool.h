#pragma once
// A fixed set of database workers, each owning one libpqxx connection, fed from
// a queue. The HTTP threads only ever enqueue: they never wait on the database.
//
// A job that waits longer than `wait` for a worker fails as `busy` (503), so
// the database never sees more than `size` connections however hard storygate
// is pushed. A broken connection is dropped and reopened with capped backoff;
// libpqxx's exceptions stop here and become a `failure`.
//
// Each server also has a health check of its own: a thread with one
// connection (application_name storygate-health) that asks, about once a
// second, whether the server answers, whether it is a standby and how far its
// replay lags (db/server_health.h). Readiness and /metrics read what it last
// found, so they never take a connection from the API. A standby that lags
// more than `max_replica_lag` gets no work until it catches up.
//
// Thread-safe.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <pqxx/connection>

#include "db/server_health.h"

namespace storygate::db {

enum class failure {
  unavailable,  // cannot reach the database (503)
  busy,         // no connection free within the wait (503)
  timed_out,    // statement_timeout cancelled the query (504)
  internal,     // anything else; logged with details, answered without them (500)
};

std::string_view describe(failure f);

// libpq's messages end in newlines and may span lines: one line for a log
// field or an error message.
std::string one_line(std::string text);

// A connection leased to one job, with the job layer's note of what it has
// prepared on it (0 when nothing: a fresh connection).
struct lease {
  pqxx::connection_base& connection;
  uint64_t& prepared_generation;
};

struct pool_options {
  std::string conninfo;  // the primary: where mappings are checked
  // Further servers to read from (streaming replicas): the workers are spread
  // over all of them, and one that fails is left out and retried later.
  std::vector<std::string> replicas;
  // false behind a transaction-pooling pgbouncer: no session settings, no
  // named prepared statements (the job layer sets what it needs per transaction).
  bool session_state = true;
  unsigned size = 4;
  std::chrono::milliseconds wait{2000};
  std::chrono::milliseconds statement_timeout{10000};
  // A standby whose replay lags more than this (or cannot say) is left out
  // until it catches up; list windows are widened by it (lag_allowance()).
  std::chrono::seconds max_replica_lag{30};
  // How often each server's health is checked.
  std::chrono::milliseconds health_interval{1000};
  // Told how long each job held its connection (for metrics); may be empty.
  std::function<void(std::chrono::duration<double>)> job_done;
};

// Opens a session to `conninfo` the way every pooled one is opened: read-only,
// with the statement timeout (unless options.session_state is off). Throws
// what libpqxx throws when it cannot.
// "; SET [scope]jit = off" for servers that have JIT (11 and later), else "".
// JIT compiles a plan whenever its cost estimate passes jit_above_cost, and
// the correlated subqueries of a mapping (orders per customer, ...) inflate
// the estimate of a page that runs in tens of milliseconds: in the 1M-customer
// benchmark, compiling took 240 ms of a 290 ms page. No statement of ours runs
// long enough to repay it. `scope` is "" for a session, "LOCAL " for a
// transaction.
std::string jit_off(const pqxx::connection_base& connection, std::string_view scope = "");

std::unique_ptr<pqxx::connection> open_session(const pool_options& options, const std::string& conninfo);
std::unique_ptr<pqxx::connection> open_session(const pool_options& options);

class pool {
 public:
  using job = std::function<void(lease&)>;
  using on_failure = std::function<void(failure)>;

  // Starts the workers (their connections open on first use) and the health
  // checks, and returns once every server has been checked once (or after a
  // few seconds, when one does not answer).
  explicit pool(pool_options options);
  // Finishes the queued jobs, then closes every connection.
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // Runs `work` on a worker with an open connection, or `failed` (also on a
  // worker, or on the expiry thread) when it cannot. Exactly one of the two
  // runs, exactly once. Neither may throw.
  void submit(job work, on_failure failed);

  // Stops taking jobs; returns when the queued and running ones are done.
  void drain();

  struct stats {
    unsigned size = 0;
    unsigned busy = 0;       // workers running a job
    unsigned waiting = 0;    // jobs queued
    unsigned connected = 0;  // open connections
    std::vector<server_health> servers;  // the primary (--database-url) first
  };
  stats snapshot() const;

  // What the health checks last found, the primary (--database-url) first.
  std::vector<server_health> health() const;
  // nullopt when some server answered its last check recently and does not
  // lag too far; otherwise why not (names servers: for logs and `check`,
  // not for unauthenticated callers).
  std::optional<std::string> not_ready_reason() const;
  // How far back every list window must reach besides the overlap: a sync
  // served by a standby sees only what it had replayed, up to
  // max_replica_lag behind. 0 when every server is a primary (no replica
  // configured and none found in recovery). Constant for the pool's life
  // once the first checks are done, so pages of one walk agree.
  std::chrono::seconds lag_allowance() const;

 private:
  struct pending {
    job work;
    on_failure failed;
    std::chrono::steady_clock::time_point queued_at;
  };
  struct worker_slot;
  struct target;

  void work_loop(worker_slot& slot);
  void monitor_loop(target& t);
  void check_health(target& t, std::unique_ptr<pqxx::connection>& connection);
  void expire_loop();
  void cut_off_stuck_jobs();
  void run(pending& p, worker_slot& slot);
  bool ensure_connected(worker_slot& slot);
  bool connect(worker_slot& slot, std::size_t target_index);

  const pool_options options_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable queue_changed_;
  std::deque<pending> queue_;
  bool stopping_ = false;
  unsigned busy_ = 0;
  std::vector<std::unique_ptr<target>> targets_;
  std::vector<std::unique_ptr<worker_slot>> slots_;
  std::vector<std::thread> threads_;
  std::condition_variable health_changed_;
  std::atomic<bool> seen_standby_{false};
  std::vector<std::thread> monitors_;
};

}  // namespace storygate::db
