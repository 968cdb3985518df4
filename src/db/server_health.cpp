#include "db/server_health.h"

#include <pqxx/pqxx>

#include <cstdio>

namespace storygate::db {

// The received against the replayed WAL position first: when replay has
// caught up (or is ahead, after a restart) the standby has replayed all it
// was sent, however old its last replayed transaction is
// (pg_last_xact_replay_timestamp() alone keeps growing while the primary is
// idle). Otherwise the age of the last replayed transaction is how far
// behind it is. Both functions exist from
// PostgreSQL 10 on; on a primary they are NULL and the lag is 0.
//
// Sent with exec_params (no parameters): libpqxx 6.4 leaks the result of a
// statement the broken connection failed, and that path is the one the
// sanitizers' suppression names (scripts/sanitizers/lsan.supp).
probe_result probe_server(pqxx::connection_base& connection) {
  pqxx::nontransaction tx(connection);
  const auto row = tx.exec_params(
      "SELECT pg_is_in_recovery(),"
      " CASE WHEN NOT pg_is_in_recovery() THEN 0"
      "      WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0"
      "      ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END")[0];
  probe_result found;
  found.in_recovery = row[0].as<bool>();
  if (!row[1].is_null()) found.lag_seconds = std::max(0.0, row[1].as<double>());
  return found;
}

std::optional<double> lag_bound(const server_health& h, std::chrono::steady_clock::time_point now) {
  if (!h.up || !h.lag_seconds) return std::nullopt;
  if (!h.in_recovery) return 0.0;  // a primary is its own latest state
  return *h.lag_seconds + std::chrono::duration<double>(now - h.checked_at).count();
}

bool lags_too_far(const server_health& h, std::chrono::seconds max_lag, std::chrono::steady_clock::time_point now) {
  if (!h.checked || !h.up || !h.in_recovery) return false;
  const auto bound = lag_bound(h, now);
  return !bound || *bound > static_cast<double>(max_lag.count());
}

std::optional<std::string> not_ready_reason(const std::vector<server_health>& servers, std::chrono::seconds max_lag,
                                            std::chrono::steady_clock::duration fresh_for,
                                            std::chrono::steady_clock::time_point now) {
  std::string why;
  for (const auto& h : servers) {
    std::string problem;
    if (!h.checked)
      problem = "not checked yet";
    else if (!h.up)
      problem = "down (" + h.problem + ")";
    else if (now - h.checked_at > fresh_for)
      problem = "its health check has not answered for a while";
    else if (lags_too_far(h, max_lag, now))
      problem = describe_health(h) + ", more than the " + std::to_string(max_lag.count()) + " s allowed";
    if (problem.empty()) return std::nullopt;
    why += (why.empty() ? "" : "; ") + h.name + ": " + problem;
  }
  return why.empty() ? "no database server configured" : why;
}

std::string describe_health(const server_health& h) {
  if (!h.checked) return "not checked yet";
  if (!h.up) return "down: " + h.problem;
  if (!h.in_recovery) return "primary";
  if (!h.lag_seconds) return "standby, replay lag unknown (nothing replayed since it started)";
  char lag[32];
  std::snprintf(lag, sizeof lag, "%.1f", *h.lag_seconds);
  return std::string("standby, replay lag ") + lag + " s";
}

}  // namespace storygate::db
