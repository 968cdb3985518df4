#include "db/servers.h"

#include <pqxx/pqxx>

#include <sys/socket.h>

#include "db/conninfo.h"
#include "log/logger.h"

namespace storygate::db {
namespace {

using clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds first_backoff{100};
// The cap bounds how long service stays down after the database is back.
constexpr std::chrono::milliseconds max_backoff{1000};
// How long the constructor waits for every server's first health check.
constexpr std::chrono::seconds first_check_wait{5};
// A server whose health check has not answered for this long does not count
// as ready (its check is stuck, or its thread cannot get to it).
constexpr std::chrono::seconds stale_health{5};
// How often stuck checks are looked for.
constexpr std::chrono::milliseconds watchdog_interval{100};

std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

struct servers::target {
  std::string conninfo;
  std::string name;  // host:port/db as user, for logs
  mutable std::mutex mutex;
  clock::time_point retry_at{};
  std::chrono::milliseconds backoff = first_backoff;
  bool reachable = true;  // logged once per change, not once per request
  server_health health;   // what the health check last found
  bool lagging = false;   // logged once per change

  // The health check's query in flight, for the watchdog and for stop().
  std::mutex probe_guard;
  bool probing = false;
  clock::time_point probe_started{};
  int probe_socket = -1;

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
};

servers::servers(options o) : options_(std::move(o)) {
  for (const auto& conninfo : options_.conninfos) {
    targets_.push_back(std::make_unique<target>());
    targets_.back()->conninfo = conninfo;
    targets_.back()->name = describe_target(conninfo);
    targets_.back()->health.name = targets_.back()->name;
  }
  for (auto& t : targets_) threads_.emplace_back([this, t = t.get()] { monitor_loop(*t); });
  threads_.emplace_back([this] { watch_stuck_checks(); });
  // Readiness and the list windows need a first answer from each server;
  // one that does not answer within this wait shows as not checked yet.
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, first_check_wait, [this] {
    for (const auto& t : targets_) {
      std::lock_guard health_lock(t->mutex);
      if (!t->health.checked) return false;
    }
    return true;
  });
}

servers::~servers() { stop(); }

void servers::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  changed_.notify_all();
  // A health check stuck on a frozen connection must not hold the stop.
  for (auto& t : targets_) {
    std::lock_guard lock(t->probe_guard);
    if (t->probing && t->probe_socket >= 0) ::shutdown(t->probe_socket, SHUT_RDWR);
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

const std::string& servers::conninfo(std::size_t index) const { return targets_[index]->conninfo; }

bool servers::available(std::size_t index) const {
  const auto& t = *targets_[index];
  std::lock_guard lock(t.mutex);
  const auto now = clock::now();
  return now >= t.retry_at && !lags_too_far(t.health, options_.max_lag, now);
}

bool servers::lags(std::size_t index) const {
  const auto& t = *targets_[index];
  std::lock_guard lock(t.mutex);
  return lags_too_far(t.health, options_.max_lag, clock::now());
}

void servers::connected(std::size_t index) {
  auto& t = *targets_[index];
  std::lock_guard lock(t.mutex);
  t.backoff = first_backoff;
  t.retry_at = {};
  if (!t.reachable) log::info("database reachable again", {{"database", t.name}});
  t.reachable = true;
}

void servers::connect_failed(std::size_t index, std::string_view detail) {
  auto& t = *targets_[index];
  std::lock_guard lock(t.mutex);
  t.retry_at = clock::now() + t.backoff;
  t.backoff = std::min(t.backoff * 2, max_backoff);
  if (t.reachable) log::warn("database unreachable", {{"database", t.name}, {"detail", detail}});
  t.reachable = false;
}

std::vector<server_health> servers::health() const {
  std::vector<server_health> found;
  for (const auto& t : targets_) {
    std::lock_guard lock(t->mutex);
    found.push_back(t->health);
  }
  return found;
}

std::optional<std::string> servers::not_ready_reason() const {
  return db::not_ready_reason(health(), options_.max_lag, stale_health, clock::now());
}

std::chrono::seconds servers::lag_allowance() const {
  return options_.replicas_configured || seen_standby_ ? options_.max_lag : std::chrono::seconds(0);
}

// One check a second on the monitor's own connection, opened again when it
// broke. It is named apart (storygate-health), so the DBA can tell it from
// the API's.
void servers::monitor_loop(target& t) {
  std::unique_ptr<pqxx::connection> connection;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    server_health found;
    found.name = t.name;
    found.checked = true;
    try {
      if (!connection || !connection->is_open())
        connection = std::make_unique<pqxx::connection>(t.conninfo + " application_name=storygate-health");
      {
        std::lock_guard probe_lock(t.probe_guard);
        std::lock_guard stop_lock(mutex_);  // stop() cuts only the probes it can see
        if (stopping_) break;
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
      std::lock_guard probe_lock(t.probe_guard);
      t.probing = false;
      t.probe_socket = -1;
    }
    found.checked_at = clock::now();
    t.checked(std::move(found), options_.max_lag);
    changed_.notify_all();
    lock.lock();
    changed_.wait_for(lock, options_.check_interval, [this] { return stopping_; });
  }
}

// A check cannot answer through a connection that stopped moving (a frozen
// proxy, a stopped backend), and libpq waits on the socket with no limit:
// one past the statement timeout and a grace period has its socket shut.
void servers::watch_stuck_checks() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    changed_.wait_for(lock, watchdog_interval, [this] { return stopping_; });
    // Never holds mutex_ while taking a probe_guard (the checks take them
    // the other way round).
    lock.unlock();
    const auto now = clock::now();
    for (auto& t : targets_) {
      std::lock_guard probe_lock(t->probe_guard);
      if (!t->probing || t->probe_socket < 0 || now - t->probe_started < options_.stuck_after) continue;
      ::shutdown(t->probe_socket, SHUT_RDWR);
      t->probe_socket = -1;
    }
    lock.lock();
  }
}

}  // namespace storygate::db
