#pragma once
// What storygate knows about each database server without asking it on a
// request's behalf: whether it answers, whether it is a standby, and how far
// its replay lags behind the changes it has been sent. The pool refreshes
// this from a check of its own, about once a second per server (db/pool.h);
// readiness, routing, /metrics and `check` read it.
//
// The functions here are pure, except probe_server(), which runs the check on
// a connection (one thread at a time, as every libpqxx connection).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace storygate::db {

struct server_health {
  std::string name;          // host:port/db as user (never the password)
  bool checked = false;      // a check has finished, answered or not
  bool up = false;           // the last check answered
  bool in_recovery = false;  // a standby: pg_is_in_recovery()
  // How far replay lags, in seconds: 0 on a primary and on a standby that
  // has replayed all the WAL it received; otherwise the age of the last
  // transaction it replayed. nullopt when the standby cannot tell (nothing
  // replayed since it started).
  std::optional<double> lag_seconds;
  std::chrono::steady_clock::time_point checked_at{};
  std::string problem;  // why the last check failed (libpq's reason, one line)
};

// What one check finds; throws what libpqxx throws when the server fails.
struct probe_result {
  bool in_recovery = false;
  std::optional<double> lag_seconds;
};
probe_result probe_server(pqxx::connection_base& connection);

// The most the lag can be now: the lag measured, plus the time since (replay
// may have stopped just after the check). nullopt when unknown or the server
// is not up.
std::optional<double> lag_bound(const server_health& h, std::chrono::steady_clock::time_point now);

// Whether a standby lags so far behind that nothing should be read from it:
// its lag bound is over `max_lag` or unknown. A primary, a server not yet
// checked and one that is down never lag (down is the pool's own business).
bool lags_too_far(const server_health& h, std::chrono::seconds max_lag, std::chrono::steady_clock::time_point now);

// Why storygate is not ready to serve, or nullopt when it is: at least one
// server answered a check within `fresh_for` and does not lag too far.
std::optional<std::string> not_ready_reason(const std::vector<server_health>& servers, std::chrono::seconds max_lag,
                                            std::chrono::steady_clock::duration fresh_for,
                                            std::chrono::steady_clock::time_point now);

// One line for `check` and logs: "primary", "standby, replay lag 2.1 s", ...
std::string describe_health(const server_health& h);

}  // namespace storygate::db
