#pragma once
// How every session storygate opens is set up, in one place: the request
// path's connections, the health checks' and the tools' all take their
// statements from here.
//
// - read-only whatever the role may do;
// - a statement timeout, so PostgreSQL itself cancels a runaway query;
// - JIT off (servers from 11): JIT compiles a plan whenever its cost estimate
//   passes jit_above_cost, and the correlated subqueries of a mapping
//   (orders per customer, ...) inflate the estimate of a page that runs in
//   tens of milliseconds: in the 1M-customer benchmark, compiling took 240 ms
//   of a 290 ms page. No statement of ours runs long enough to repay it;
// - the mapping's TimeZone, which the offsets in responses are written in.
//
// Behind a transaction-pooling pgbouncer a session keeps nothing: the same
// settings are made LOCAL at the start of every transaction instead.
//
// Every value is a parameter of set_config(), never spliced into SQL.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace storygate::db {

struct setup_statement {
  std::string sql;
  std::optional<std::string> parameter;  // $1, when the statement has one
};

// For a session of our own (not behind pgbouncer), once after it opens.
std::vector<setup_statement> session_setup(int server_version, std::chrono::milliseconds statement_timeout);

// The client encoding for a database whose encoding is `server_encoding`,
// when UTF8 (db/conninfo.h) will not do: an SQL_ASCII database's text is
// whatever bytes were stored, and PostgreSQL checks what it sends a UTF8
// client, refusing the whole row at the first byte that is not UTF-8
// (22021). As SQL_ASCII the bytes come as stored, json/ repairs them, and a
// walk's last id goes back as the same bytes. For the request path's
// sessions: the tools' read names and plans, not customers' text.
std::optional<setup_statement> encoding_setup(const std::string& server_encoding, bool local);

// The zone offsets are written in: for the whole session, or (local) for
// the transaction it runs in.
setup_statement time_zone_setup(const std::string& zone, bool local);

// Behind pgbouncer in transaction mode: the opening of each transaction,
// BEGIN READ ONLY first; the transaction is closed with end_transaction.
std::vector<setup_statement> transaction_setup(int server_version, std::chrono::milliseconds statement_timeout,
                                               const std::string& zone);
inline const setup_statement end_transaction{"COMMIT", std::nullopt};

// The version JIT first appeared in: older servers reject its setting.
inline constexpr int first_version_with_jit = 110000;

// Whether several statements between two Syncs each get the whole
// statement_timeout. From 11 on the server restarts the timeout at every
// Execute; 10 runs one timeout from the first Execute to the Sync, so a
// batch of quick lookups could be cancelled for their sum (shown by
// PoolTest.EveryQueryOfABatchHasItsOwnStatementTimeoutAndFailsAlone on 10).
inline bool statement_timeout_per_execute(int server_version) { return server_version >= 110000; }

}  // namespace storygate::db
