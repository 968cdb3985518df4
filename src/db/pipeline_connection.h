#pragma once
// One PostgreSQL connection driven by the I/O thread that owns it: libpq is
// only ever called non-blocking, its socket is watched by Asio, and the
// connection runs in libpq's pipeline mode (libpq 14 or later as the client,
// any server from 10 on), so queries sent while earlier ones are still out
// travel in the same round trip instead of waiting for each other.
//
// The queries queued during one turn of the io_context go out in one write,
// closed by one Sync. When one of them fails, PostgreSQL skips the rest of
// that batch; those never ran, so they are sent again in the next batch
// (every statement storygate runs is a read): an error ends its own query
// alone.
//
// Not thread-safe: open and use it only on its executor (an io_context run
// by one thread, or a strand), as libpq asks (a connection is a world of its
// own). Handlers run there. The pool (db/pool.h) is built on it.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <libpq-fe.h>

#include "db/row_text.h"

namespace storygate::db {

// What a query came back with: rows (text format), or why there are none.
class query_result {
 public:
  // The connection failed before the query's answer arrived.
  static query_result lost(std::string reason);
  explicit query_result(PGresult* result);  // takes ownership

  bool ok() const { return error_.empty(); }
  // The server's message, or the connection's when it was lost.
  const std::string& error() const { return error_; }
  // SQLSTATE of a server error ("57014": cancelled by statement_timeout);
  // empty when the query succeeded or the connection was lost.
  const std::string& sqlstate() const { return sqlstate_; }
  bool connection_lost() const { return !ok() && sqlstate_.empty(); }

  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  std::string_view value(int row, int column) const;

 private:
  friend class pipeline_connection;
  query_result() = default;
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_{nullptr, PQclear};
  std::string error_;
  std::string sqlstate_;
  bool skipped_ = false;  // not run: an earlier query in its batch failed
};

// One row of a query_result, as the record writer reads rows.
class result_row final : public row_text {
 public:
  result_row(const query_result& result, int row) : result_(result), row_(row) {}
  bool is_null(int column) const override { return result_.is_null(row_, column); }
  std::string_view text(int column) const override { return result_.value(row_, column); }

 private:
  const query_result& result_;
  int row_;
};

class pipeline_connection : public std::enable_shared_from_this<pipeline_connection> {
 public:
  using opened_handler = std::function<void(std::shared_ptr<pipeline_connection>, std::string error)>;
  using result_handler = std::function<void(query_result)>;
  // Rows as they arrive: one query_result holding one row (or, rarely, all
  // of them), valid only during the call.
  using rows_handler = std::function<void(const query_result&)>;
  // A parameter in PostgreSQL's text form; nullopt is SQL NULL.
  using parameters = std::vector<std::optional<std::string>>;

  // Connects to `conninfo` without blocking the thread; `done` runs on
  // `executor` with the connection in pipeline mode, or with nullptr and the
  // reason. libpq's connect_timeout does not apply to a connection opened
  // this way: the caller bounds the wait, closing the connection returned
  // (done then runs with nullptr). Returns nullptr when the connection could
  // not even start (done is posted).
  static std::shared_ptr<pipeline_connection> open(const boost::asio::any_io_executor& executor,
                                                   const std::string& conninfo, opened_handler done);

  ~pipeline_connection();
  pipeline_connection(const pipeline_connection&) = delete;
  pipeline_connection& operator=(const pipeline_connection&) = delete;

  // Queue a query; `done` runs once, with its result (a query skipped
  // because an earlier one in its batch failed is sent again, so its answer
  // can come after later ones). On a broken connection `done` is posted at
  // once with a lost result.
  void prepare(const std::string& name, const std::string& sql, result_handler done);
  //
  // With `rows`, the rows come to it one at a time as they arrive (libpq's
  // single-row mode), each freed before the next is read, so a long answer
  // is never held whole; `done` then gets the outcome. When that is an
  // error (statement_timeout during the rows), the rows already handed over
  // are not the whole answer and must be thrown away.
  void execute_prepared(const std::string& name, const parameters& params, result_handler done,
                        rows_handler rows = {});
  // One statement with parameters, over the extended protocol: a second
  // statement in `sql` is refused by the server, never run.
  void execute(const std::string& sql, const parameters& params, result_handler done, rows_handler rows = {});

  // Ends the batch queued so far with a Sync and sends it now, rather than
  // at the end of this turn. A setting made with set_config() is undone if
  // its batch fails; ended on its own, its batch holds nothing that can.
  void sync() { end_batch(); }

  // Fails every query in flight with `reason`, and closes the connection.
  void close(const std::string& reason);

  bool broken() const { return conn_ == nullptr; }
  std::size_t in_flight() const { return sent_.size(); }
  int server_version() const;
  // The database's encoding as the server reported it at connection ("UTF8",
  // "SQL_ASCII", ...); empty before.
  std::string server_encoding() const;

  // How the work travelled: several queries per send is the point of the
  // pipeline (tests hold the connection to it).
  struct counters {
    uint64_t queries = 0;  // sent
    uint64_t sends = 0;    // times libpq's output buffer was flushed to the socket
    uint64_t reads = 0;    // times the socket was read
  };
  const counters& counted() const { return counters_; }

 private:
  // A query as sent, kept until answered: a skipped one is sent again.
  struct query {
    enum class kind { prepare, execute_prepared, execute } what;
    std::string text;  // the statement name, or the SQL
    std::string sql;   // prepare: the statement's SQL
    parameters params;
    result_handler done;
    rows_handler rows;        // set: its rows go there one at a time
    bool single_row = false;  // libpq was told so, for this sending of it
  };

  pipeline_connection(const boost::asio::any_io_executor& executor, PGconn* conn);

  void continue_connecting(PostgresPollingStatusType status, opened_handler done);
  void enqueue(query q);
  // Hands `q` to libpq's output buffer; false when libpq refused it.
  bool send(const query& q);
  // Closes the batch queued this turn with a Sync and sends it.
  void end_batch();
  void flush();
  void watch_readable();
  void on_readable();
  // Hands every complete answer to its handler.
  void deliver_results();
  void arm_single_row();
  std::string libpq_error() const;
  void fail(const std::string& reason);

  boost::asio::any_io_executor executor_;
  PGconn* conn_;
  boost::asio::posix::stream_descriptor socket_;
  // Sent and unanswered, oldest first.
  std::deque<query> sent_;
  std::deque<std::size_t> batch_sizes_;  // of the batches sent, oldest first
  std::size_t unsynced_ = 0;             // queries sent since the last Sync
  std::vector<query> skipped_;           // of the oldest batch, to send again
  std::optional<query_result> answer_;   // of the oldest query, until its end
  bool batch_scheduled_ = false;
  bool watching_read_ = false;
  bool watching_write_ = false;
  counters counters_;
};

}  // namespace storygate::db
