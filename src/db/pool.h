#pragma once
// The connections the API reads through, driven asynchronously on the HTTP
// side's own executors: no worker thread per connection, no hand-off to a
// database thread and back.
//
// The connections are split into shards, one per executor (a strand of the
// HTTP io_context). A shard's connections, queue and timers live on its
// executor and are touched nowhere else, so there is no lock on the request
// path. A query goes to a shard with a connection free (or free to open),
// the caller's usual one first; one that waits on a shard moves to another
// whose connection comes free first.
//
// Each connection carries one batch at a time. While it is out, the queries
// that arrive wait; when it is answered, all of them leave together in one
// batch: libpq's pipeline mode (db/pipeline_connection.h), one write, one
// Sync, one round trip.
// A query that waits longer than `wait` fails as `busy` (503), so the
// database never sees more than `size` connections however hard storygate
// is pushed.
//
// The guarantees:
// - read-only sessions with PostgreSQL's own statement_timeout (504), set up
//   as db/session_setup.h says;
// - a watchdog: a connection that has not answered anything for the
//   statement timeout and a grace period is cut (504): an answer cannot come
//   back through a path that stopped moving;
// - a connection found dead is reopened, with capped backoff per server
//   (db/servers.h); a query that met a connection dying is tried once more
//   on a fresh one when that can help (every statement only reads);
// - replicas: connections are spread over every server, a failed or lagging
//   one is left and its connections go elsewhere, coming back later;
// - behind a transaction-pooling pgbouncer, each query runs in a transaction
//   of its own that sets what a session would hold, in one round trip, with
//   nothing prepared by name.
#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "db/pipeline_connection.h"
#include "db/server_health.h"
#include "db/servers.h"

namespace storygate::db {

enum class failure {
  unavailable,  // cannot reach the database (503)
  busy,         // no connection free within the wait (503)
  timed_out,    // statement_timeout cancelled the query, or the watchdog cut it (504)
  // PostgreSQL could not convert text between the database's encoding and
  // UTF8, one way or the other: a parameter with a character the encoding
  // lacks (a LATIN1 database asked for an id with "€" in it), or stored
  // text UTF-8 has no character for (a byte WIN1252 leaves undefined).
  // Logged, as the second is the DBA's to see; answered as internal (500).
  untranslatable,
  internal,     // anything else; logged with details, answered without them (500)
};

std::string_view describe(failure f);

// libpq's messages end in newlines and may span lines: one line for a log
// field or an error message.
std::string one_line(std::string text);

// The statements of one mapping version, as every connection prepares them
// before running one: their names (unique to the version), their SQL, and
// the time zone the session answers in. Immutable once built.
struct statement_set {
  uint64_t generation = 0;
  std::string time_zone;
  std::vector<std::string> names;
  std::vector<std::string> sql;
};

// One statement of a set, with its parameters.
struct query_call {
  std::shared_ptr<const statement_set> statements;
  std::size_t statement = 0;  // index into statements->sql
  pipeline_connection::parameters params;
  // Set: the rows go here one at a time as they arrive (see
  // pipeline_connection::execute_prepared), the answer then holds none.
  // Called on the same executor as the answer handler, before it.
  pipeline_connection::rows_handler rows;
};

// The rows, or why there are none.
using answer = std::variant<query_result, failure>;
using answer_handler = std::function<void(answer)>;

struct pool_options {
  std::string conninfo;  // the primary: where mappings are checked
  // Further servers to read from (streaming replicas): the connections are
  // spread over all of them.
  std::vector<std::string> replicas;
  // false behind a transaction-pooling pgbouncer: no session settings, no
  // named prepared statements.
  bool session_state = true;
  unsigned size = 4;
  std::chrono::milliseconds wait{2000};
  std::chrono::milliseconds statement_timeout{10000};
  // How long a new connection may take (libpq's connect_timeout does not
  // apply to connections opened without blocking).
  std::chrono::milliseconds connect_timeout{5000};
  // A standby whose replay lags more than this (or cannot say) is left out
  // until it catches up; list windows are widened by it (lag_allowance()).
  std::chrono::seconds max_replica_lag{30};
  // How often each server's health is checked.
  std::chrono::milliseconds health_interval{1000};
  // Told how long each query took, from its batch leaving to its answer (for
  // metrics); may be empty. Called on a shard's executor.
  std::function<void(std::chrono::duration<double>)> query_done;
};

class pool {
 public:
  // One shard per executor (at most `size`; each gets at least one
  // connection). Starts the health checks and returns once every server
  // has been checked once. Connections start opening at once.
  pool(pool_options options, const std::vector<boost::asio::any_io_executor>& executors);
  // drain() first.
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // Runs `call`; `done` runs exactly once, on a shard's executor, with the
  // rows or the failure. Any thread.
  void run(query_call call, answer_handler done);

  // Stops the health checks, closes every connection and lets go of every
  // query still queued or out (their handlers are destroyed, not called).
  // Call once the executors have stopped running; run() then fails at once.
  void drain();

  struct stats {
    unsigned size = 0;
    unsigned busy = 0;       // connections with a batch out
    unsigned waiting = 0;    // queries queued for a connection
    unsigned connected = 0;  // open connections
    uint64_t queries = 0;    // sent, since the start
    uint64_t batches = 0;    // that they went in: fewer than queries when waiting ones shared a round trip
    std::vector<server_health> servers;  // the primary (--database-url) first
  };
  stats snapshot() const;

  std::vector<server_health> health() const { return servers_.health(); }
  // See db::servers.
  std::optional<std::string> not_ready_reason() const { return servers_.not_ready_reason(); }
  std::chrono::seconds lag_allowance() const { return servers_.lag_allowance(); }

  class shard;  // db/pool.cpp

 private:
  const pool_options options_;
  servers servers_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::atomic<std::size_t> next_shard_{0};
};

}  // namespace storygate::db
