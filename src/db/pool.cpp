#include "db/pool.h"

#include <pqxx/pqxx>

#include <sys/socket.h>

#include <atomic>

#include "db/conninfo.h"
#include "log/logger.h"

namespace storygate::db {
namespace {

using clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds first_backoff{100};
// The cap bounds how long service stays down after the database is back.
constexpr std::chrono::milliseconds max_backoff{1000};

constexpr std::string_view query_canceled = "57014";

// SQLSTATE classes that mean the session is gone (connection exceptions,
// administrator shutdown or pg_terminate_backend).
bool means_connection_lost(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0;
}

// How often the watchdog looks for jobs stuck on a connection that stopped
// moving, and how long past the statement timeout it lets them run.
constexpr std::chrono::milliseconds watchdog_interval{100};
constexpr std::chrono::milliseconds stuck_grace{1000};

// A worker that fell back to another server tries its own again this often.
constexpr std::chrono::seconds rebalance_interval{10};

// How long the constructor waits for every server's first health check.
constexpr std::chrono::seconds first_check_wait{5};
// A server whose health check has not answered for this long does not count
// as ready (its check is stuck, or its thread cannot get to it).
constexpr std::chrono::seconds stale_health{5};

}  // namespace

std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string_view describe(failure f) {
  switch (f) {
    case failure::unavailable: return "unavailable";
    case failure::busy: return "busy";
    case failure::timed_out: return "timed_out";
    case failure::internal: return "internal";
  }
  return "internal";
}

std::string jit_off(const pqxx::connection_base& connection, std::string_view scope) {
  // PostgreSQL 11 introduced JIT; older servers reject the setting.
  if (connection.server_version() < 110000) return "";
  return "; SET " + std::string(scope) + "jit = off";
}

std::unique_ptr<pqxx::connection> open_session(const pool_options& options, const std::string& conninfo) {
  auto connection = std::make_unique<pqxx::connection>(conninfo);
  if (!options.session_state) return connection;  // pgbouncer: set per transaction instead
  // Read-only whatever the role may do; runaway queries are cancelled by
  // the server itself.
  pqxx::nontransaction setup(*connection);
  setup.exec("SET default_transaction_read_only = on; SET statement_timeout = " +
             std::to_string(options.statement_timeout.count()) + jit_off(*connection));
  setup.commit();
  return connection;
}

std::unique_ptr<pqxx::connection> open_session(const pool_options& options) {
  return open_session(options, options.conninfo);
}

// One database server, shared by the workers; a failed one is left out until
// its retry time, with capped backoff.
struct pool::target {
  std::string conninfo;
  std::string name;  // host:port/db as user, for logs
  std::mutex mutex;
  clock::time_point retry_at{};
  std::chrono::milliseconds backoff = first_backoff;
  bool reachable = true;  // logged once per change, not once per request
  server_health health;   // what the health check last found
  bool lagging = false;   // logged once per change

  // The health check's query in flight, for the watchdog and for drain().
  std::mutex probe_guard;
  bool probing = false;
  clock::time_point probe_started{};
  int probe_socket = -1;

  bool available(clock::time_point now, std::chrono::seconds max_lag) {
    std::lock_guard lock(mutex);
    return now >= retry_at && !lags_too_far(health, max_lag, now);
  }
  bool lags(clock::time_point now, std::chrono::seconds max_lag) {
    std::lock_guard lock(mutex);
    return lags_too_far(health, max_lag, now);
  }
  void checked(server_health found, std::chrono::seconds max_lag) {
    std::lock_guard lock(mutex);
    const bool was_up = health.up || !health.checked;
    health = std::move(found);
    if (was_up && !health.up)
      log::warn("database health check failed", {{"database", name}, {"detail", health.problem}});
    else if (!was_up && health.up)
      log::info("database health check answers again", {{"database", name}, {"state", describe_health(health)}});
    const bool now_lagging = lags_too_far(health, max_lag, health.checked_at);
    if (now_lagging != lagging)
      log::warn(now_lagging ? "standby lags too far behind; reading elsewhere until it catches up"
                            : "standby caught up; reading from it again",
                {{"database", name}, {"state", describe_health(health)},
                 {"max_lag_seconds", static_cast<int64_t>(max_lag.count())}});
    lagging = now_lagging;
  }
  void succeeded() {
    std::lock_guard lock(mutex);
    backoff = first_backoff;
    retry_at = {};
    if (!reachable) log::info("database reachable again", {{"database", name}});
    reachable = true;
  }
  void failed(std::string_view detail) {
    std::lock_guard lock(mutex);
    retry_at = clock::now() + backoff;
    backoff = std::min(backoff * 2, max_backoff);
    if (reachable) log::warn("database unreachable", {{"database", name}, {"detail", detail}});
    reachable = false;
  }
};

struct pool::worker_slot {
  // What the watchdog may look at from its thread, under `guard`: whether a
  // job is running, since when, and on which socket.
  std::mutex guard;
  bool running = false;
  bool cut_off = false;  // the watchdog shut the socket down under this job
  clock::time_point job_started{};
  int socket = -1;

  std::size_t preferred = 0;  // the target this worker serves from when it can
  std::unique_ptr<pqxx::connection> connection;
  std::size_t target = 0;     // the one it is connected to
  clock::time_point connected_at{};
  std::atomic<bool> connected{false};  // read by snapshot() from other threads
  uint64_t prepared_generation = 0;
  bool reused = false;  // has served a job since it was opened
};

pool::pool(pool_options options) : options_(std::move(options)) {
  targets_.push_back(std::make_unique<target>());
  targets_.back()->conninfo = options_.conninfo;
  for (const auto& replica : options_.replicas) {
    targets_.push_back(std::make_unique<target>());
    targets_.back()->conninfo = replica;
  }
  for (auto& t : targets_) t->name = describe_target(t->conninfo);
  for (unsigned i = 0; i < options_.size; ++i) {
    slots_.push_back(std::make_unique<worker_slot>());
    slots_.back()->preferred = i % targets_.size();
  }
  for (auto& t : targets_) t->health.name = t->name;
  for (auto& slot : slots_) threads_.emplace_back([this, s = slot.get()] { work_loop(*s); });
  threads_.emplace_back([this] { expire_loop(); });
  for (auto& t : targets_) monitors_.emplace_back([this, t = t.get()] { monitor_loop(*t); });
  // Readiness and the list windows need a first answer from each server;
  // one that does not answer within this wait shows as not checked yet.
  std::unique_lock lock(mutex_);
  health_changed_.wait_for(lock, first_check_wait, [this] {
    for (const auto& t : targets_) {
      std::lock_guard health_lock(t->mutex);
      if (!t->health.checked) return false;
    }
    return true;
  });
}

pool::~pool() { drain(); }

void pool::submit(job work, on_failure failed) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(work), std::move(failed), clock::now()});
      // Only a worker is woken: the expiry thread looks at the queue on its
      // own tick, which saves a thread switch on every request.
      work_ready_.notify_one();
      return;
    }
  }
  failed(failure::unavailable);
}

void pool::drain() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  work_ready_.notify_all();
  queue_changed_.notify_all();
  health_changed_.notify_all();
  // A health check stuck on a frozen connection must not hold the stop.
  for (auto& t : targets_) {
    std::lock_guard lock(t->probe_guard);
    if (t->probing && t->probe_socket >= 0) ::shutdown(t->probe_socket, SHUT_RDWR);
  }
  for (auto& t : monitors_)
    if (t.joinable()) t.join();
  monitors_.clear();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (auto& slot : slots_) {
    slot->connection.reset();
    slot->connected = false;
  }
}

pool::stats pool::snapshot() const {
  std::lock_guard lock(mutex_);
  stats s;
  s.size = options_.size;
  s.busy = busy_;
  s.waiting = static_cast<unsigned>(queue_.size());
  for (const auto& slot : slots_) s.connected += slot->connected.load();
  s.servers = health();
  return s;
}

std::vector<server_health> pool::health() const {
  std::vector<server_health> found;
  for (const auto& t : targets_) {
    std::lock_guard lock(t->mutex);
    found.push_back(t->health);
  }
  return found;
}

std::optional<std::string> pool::not_ready_reason() const {
  return db::not_ready_reason(health(), options_.max_replica_lag, stale_health, clock::now());
}

std::chrono::seconds pool::lag_allowance() const {
  return !options_.replicas.empty() || seen_standby_ ? options_.max_replica_lag : std::chrono::seconds(0);
}

void pool::monitor_loop(target& t) {
  std::unique_ptr<pqxx::connection> connection;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    check_health(t, connection);
    health_changed_.notify_all();
    lock.lock();
    health_changed_.wait_for(lock, options_.health_interval, [this] { return stopping_; });
  }
}

// One check on the monitor's own connection, opened again when it broke.
// It is named apart (storygate-health), so the DBA can tell it from the API's.
void pool::check_health(target& t, std::unique_ptr<pqxx::connection>& connection) {
  server_health found;
  found.name = t.name;
  found.checked = true;
  try {
    if (!connection || !connection->is_open())
      connection = std::make_unique<pqxx::connection>(t.conninfo + " application_name=storygate-health");
    {
      std::lock_guard lock(t.probe_guard);
      {
        std::lock_guard stop_lock(mutex_);  // drain() cuts only the probes it can see
        if (stopping_) return;
      }
      t.probing = true;
      t.probe_started = clock::now();
      t.probe_socket = connection->sock();
    }
    const auto probed = probe_server(*connection);
    found.up = true;
    found.in_recovery = probed.in_recovery;
    found.lag_seconds = probed.lag_seconds;
    if (probed.in_recovery) seen_standby_ = true;
  } catch (const std::exception& e) {
    connection.reset();
    found.problem = one_line(e.what());
  }
  {
    std::lock_guard lock(t.probe_guard);
    t.probing = false;
    t.probe_socket = -1;
  }
  found.checked_at = clock::now();
  t.checked(std::move(found), options_.max_replica_lag);
}

void pool::work_loop(worker_slot& slot) {
  for (;;) {
    pending next;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      next = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    run(next, slot);
    std::lock_guard lock(mutex_);
    --busy_;
  }
}

// Fails jobs that waited too long for a worker; the workers may all be stuck
// on a slow database, so they cannot be the ones to notice.
void pool::expire_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // Awake at least this often: the watchdog has no event to wait for.
    auto wake = clock::now() + watchdog_interval;
    if (!queue_.empty()) wake = std::min(wake, queue_.front().queued_at + options_.wait);
    queue_changed_.wait_until(lock, wake);
    if (stopping_ && queue_.empty() && busy_ == 0) return;
    std::vector<pending> expired;
    while (!queue_.empty() && queue_.front().queued_at + options_.wait <= clock::now()) {
      expired.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    for (auto& p : expired) p.failed(failure::busy);
    cut_off_stuck_jobs();
    lock.lock();
  }
}

// PostgreSQL enforces statement_timeout itself, but its answer cannot come
// back through a connection that has stopped moving (a frozen proxy or
// pgbouncer, a stopped backend), and libpq waits on the socket with no limit.
// A job past the timeout and a grace period gets its socket shut down, which
// ends libpq's wait with an error the worker turns into a 504.
void pool::cut_off_stuck_jobs() {
  const auto limit = options_.statement_timeout + stuck_grace;
  const auto now = clock::now();
  for (auto& t : targets_) {
    std::lock_guard lock(t->probe_guard);
    if (!t->probing || t->probe_socket < 0 || now - t->probe_started < limit) continue;
    ::shutdown(t->probe_socket, SHUT_RDWR);
    t->probe_socket = -1;
  }
  for (auto& slot : slots_) {
    std::lock_guard lock(slot->guard);
    if (!slot->running || slot->cut_off || now - slot->job_started < limit || slot->socket < 0) continue;
    slot->cut_off = true;
    ::shutdown(slot->socket, SHUT_RDWR);
    log::warn("database stopped answering; connection cut", {{"after_ms", static_cast<int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - slot->job_started).count())}});
  }
}

bool pool::connect(worker_slot& slot, std::size_t index) {
  auto& t = *targets_[index];
  try {
    auto connection = open_session(options_, t.conninfo);
    slot.connection = std::move(connection);
    slot.target = index;
    slot.connected_at = clock::now();
    slot.connected = true;
    slot.prepared_generation = 0;
    slot.reused = false;
    t.succeeded();
    return true;
  } catch (const std::exception& e) {
    t.failed(one_line(e.what()));
    return false;
  }
}

// Keeps an open connection; one on a fallback server is traded for the
// worker's own server once that answers again (tried every so often, and
// kept if the try fails). Without a connection, connects to the worker's own
// server or, failing that, any other available one.
bool pool::ensure_connected(worker_slot& slot) {
  const auto now = clock::now();
  const auto max_lag = options_.max_replica_lag;
  // A standby that fell too far behind is left, as a failed server is.
  if (slot.connection && targets_[slot.target]->lags(now, max_lag)) slot.connection.reset();
  if (slot.connection && slot.connection->is_open()) {
    const bool due = slot.target != slot.preferred && now - slot.connected_at >= rebalance_interval &&
                     targets_[slot.preferred]->available(now, max_lag);
    if (due) {
      auto fallback = std::move(slot.connection);
      const auto fallback_target = slot.target;
      const auto fallback_generation = slot.prepared_generation;
      if (!connect(slot, slot.preferred)) {
        slot.connection = std::move(fallback);
        slot.target = fallback_target;
        slot.prepared_generation = fallback_generation;
        slot.connected = true;
        slot.connected_at = now;  // next try after another interval
      }
    }
    return true;
  }
  slot.connection.reset();
  slot.connected = false;
  for (std::size_t k = 0; k < targets_.size(); ++k) {
    const std::size_t index = (slot.preferred + k) % targets_.size();
    if (targets_[index]->available(now, max_lag) && connect(slot, index)) return true;
  }
  return false;
}

void pool::run(pending& p, worker_slot& slot) {
  for (int attempt = 0;; ++attempt) {
    if (!ensure_connected(slot)) return p.failed(failure::unavailable);
    const bool was_reused = slot.reused;
    const auto started = clock::now();
    {
      std::lock_guard lock(slot.guard);
      slot.running = true;
      slot.cut_off = false;
      slot.job_started = started;
      slot.socket = slot.connection->sock();
    }
    // Whatever happens below, the watchdog lets go of the socket first.
    struct job_end {
      worker_slot& slot;
      bool cut_off() {
        std::lock_guard lock(slot.guard);
        slot.running = false;
        return slot.cut_off;
      }
    } end{slot};
    try {
      lease leased{*slot.connection, slot.prepared_generation};
      p.work(leased);
      if (end.cut_off()) {  // finished just as it was cut: the socket is gone
        slot.connection.reset();
        slot.connected = false;
      }
      if (options_.job_done) options_.job_done(clock::now() - started);
      slot.reused = true;
      return;
    } catch (const pqxx::broken_connection& e) {
      const bool stuck = end.cut_off();
      slot.connection.reset();
      slot.connected = false;
      // The database stopped answering and the watchdog cut the connection:
      // the query is as good as timed out, and another try would hang too.
      if (stuck) return p.failed(failure::timed_out);
      // A connection that sat idle may have been killed behind our back
      // (pg_terminate_backend, a firewall): one retry on a fresh one, on
      // another server if this one is gone. The jobs only read, so running
      // one twice is harmless.
      if (attempt == 0 && was_reused) continue;
      targets_[slot.target]->failed(one_line(e.what()));
      if (attempt == 0 && targets_.size() > 1) continue;
      return p.failed(failure::unavailable);
    } catch (const pqxx::sql_error& e) {
      if (end.cut_off()) {
        slot.connection.reset();
        slot.connected = false;
        return p.failed(failure::timed_out);
      }
      if (e.sqlstate() == query_canceled) return p.failed(failure::timed_out);
      if (means_connection_lost(e.sqlstate())) {
        slot.connection.reset();
        slot.connected = false;
        if (attempt == 0 && (was_reused || targets_.size() > 1)) continue;
        return p.failed(failure::unavailable);
      }
      log::error("query failed", {{"sqlstate", e.sqlstate()}, {"detail", one_line(e.what())}});
      return p.failed(failure::internal);
    } catch (const std::exception& e) {
      if (end.cut_off()) {
        slot.connection.reset();
        slot.connected = false;
        return p.failed(failure::timed_out);
      }
      log::error("database job failed", {{"detail", one_line(e.what())}});
      return p.failed(failure::internal);
    }
  }
}

}  // namespace storygate::db
