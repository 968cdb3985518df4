#pragma once
// The database servers the pool reads from, and what is known of each: the
// primary (--database-url) first, then the replicas.
//
// - Reachability: a server whose connection attempt failed is left out until
//   its retry time, with capped backoff, logged once per change.
// - Health: each server has a check of its own, a thread with one libpqxx
//   connection (application_name storygate-health) that asks, about once a
//   second, whether the server answers, whether it is a standby and how far
//   its replay lags (db/server_health.h). Readiness and /metrics read what it
//   last found, so they never take a connection from the API. A standby that
//   lags more than `max_lag` gets no work until it catches up.
//
// Thread-safe.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "db/server_health.h"

namespace storygate::db {

class servers {
 public:
  struct options {
    std::vector<std::string> conninfos;  // the primary first
    std::chrono::seconds max_lag{30};
    std::chrono::milliseconds check_interval{1000};
    // A check stuck longer than this on a frozen connection has its socket
    // shut down (the statement timeout and a grace period).
    std::chrono::milliseconds stuck_after{11000};
    // Whether replicas were configured: list windows then allow for lag.
    bool replicas_configured = false;
  };

  // Starts the health checks and returns once every server has been checked
  // once (or after a few seconds, when one does not answer).
  explicit servers(options o);
  ~servers();  // stop()
  servers(const servers&) = delete;
  servers& operator=(const servers&) = delete;

  // Ends the health checks, a stuck one included.
  void stop();

  std::size_t count() const { return targets_.size(); }
  const std::string& conninfo(std::size_t index) const;

  // Whether a new connection to the server may be tried now: not within a
  // failed one's backoff, and not lagging too far.
  bool available(std::size_t index) const;
  // Whether the server lags too far for what it serves to be read.
  bool lags(std::size_t index) const;
  void connected(std::size_t index);
  void connect_failed(std::size_t index, std::string_view detail);

  // What the health checks last found, the primary first.
  std::vector<server_health> health() const;
  // nullopt when some server answered its last check recently and does not
  // lag too far; otherwise why not (names servers: for logs and `check`,
  // not for unauthenticated callers).
  std::optional<std::string> not_ready_reason() const;
  // How far back every list window must reach besides the overlap: a sync
  // served by a standby sees only what it had replayed, up to max_lag
  // behind. 0 when every server is a primary (no replica configured and
  // none found in recovery). Constant once the first checks are done, so
  // pages of one walk agree.
  std::chrono::seconds lag_allowance() const;

 private:
  struct target;
  void monitor_loop(target& t);
  void watch_stuck_checks();

  const options options_;
  std::vector<std::unique_ptr<target>> targets_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::atomic<bool> seen_standby_{false};
  std::vector<std::thread> threads_;
};

}  // namespace storygate::db
