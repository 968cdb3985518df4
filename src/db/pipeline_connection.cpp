#include "db/pipeline_connection.h"

#include <boost/asio/post.hpp>

namespace storygate::db {
namespace {

namespace asio = boost::asio;
using wait_type = asio::posix::stream_descriptor::wait_type;

// libpq's messages end with a newline (sometimes two lines): one line for logs.
std::string one_line(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (auto& c : text)
    if (c == '\n') c = ' ';
  return text.empty() ? "connection failed" : text;
}

}  // namespace

// --- query_result ---------------------------------------------------------

query_result query_result::lost(std::string reason) {
  query_result r;
  r.error_ = std::move(reason);
  return r;
}

query_result::query_result(PGresult* result) : result_(result, PQclear) {
  switch (PQresultStatus(result)) {
    case PGRES_TUPLES_OK:
    case PGRES_SINGLE_TUPLE:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY: break;
    default: {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      // A server error always carries a SQLSTATE; one made up by libpq
      // (a lost connection) may not: XX000 keeps connection_lost() false.
      sqlstate_ = state ? state : "XX000";
      error_ = one_line(PQresultErrorMessage(result));
    }
  }
}

int query_result::rows() const { return result_ ? PQntuples(result_.get()) : 0; }
int query_result::columns() const { return result_ ? PQnfields(result_.get()) : 0; }
bool query_result::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
std::string_view query_result::value(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column), static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

// --- opening ----------------------------------------------------------------

pipeline_connection::pipeline_connection(const asio::any_io_executor& executor, PGconn* conn)
    : executor_(executor), conn_(conn), socket_(executor) {}

pipeline_connection::~pipeline_connection() {
  // The socket is libpq's: stop watching it without closing it.
  if (socket_.is_open()) socket_.release();
  if (conn_) PQfinish(conn_);
}

std::shared_ptr<pipeline_connection> pipeline_connection::open(const asio::any_io_executor& executor,
                                                              const std::string& conninfo, opened_handler done) {
  PGconn* conn = PQconnectStart(conninfo.c_str());
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    std::string reason = conn ? one_line(PQerrorMessage(conn)) : "out of memory";
    if (conn) PQfinish(conn);
    asio::post(executor, [done = std::move(done), reason] { done(nullptr, reason); });
    return nullptr;
  }
  std::shared_ptr<pipeline_connection> self(new pipeline_connection(executor, conn));
  // libpq's rule: start as if PQconnectPoll had asked to wait for writing.
  self->continue_connecting(PGRES_POLLING_WRITING, std::move(done));
  return self;
}

void pipeline_connection::continue_connecting(PostgresPollingStatusType status, opened_handler done) {
  if (status == PGRES_POLLING_FAILED) {
    const auto reason = libpq_error();
    fail(reason);
    done(nullptr, reason);
    return;
  }
  // libpq opens a new socket for each address it tries; the number of a
  // closed one may come back for the next. Watch whatever it has now.
  if (socket_.is_open()) socket_.release();
  socket_.assign(PQsocket(conn_));
  if (status == PGRES_POLLING_OK) {
    if (PQsetnonblocking(conn_, 1) != 0 || PQenterPipelineMode(conn_) != 1) {
      const auto reason = libpq_error();
      fail(reason);
      done(nullptr, reason);
      return;
    }
    watch_readable();
    done(shared_from_this(), "");
    return;
  }
  socket_.async_wait(status == PGRES_POLLING_READING ? wait_type::wait_read : wait_type::wait_write,
                     [self = shared_from_this(), done = std::move(done)](boost::system::error_code ec) mutable {
                       if (ec || self->broken()) {
                         const auto reason = ec ? "connecting: " + ec.message() : "connecting: closed";
                         self->fail(reason);
                         done(nullptr, reason);
                         return;
                       }
                       self->continue_connecting(PQconnectPoll(self->conn_), std::move(done));
                     });
}

int pipeline_connection::server_version() const { return conn_ ? PQserverVersion(conn_) : 0; }

std::string pipeline_connection::server_encoding() const {
  const char* encoding = conn_ ? PQparameterStatus(conn_, "server_encoding") : nullptr;
  return encoding ? encoding : "";
}

std::string pipeline_connection::libpq_error() const { return one_line(conn_ ? PQerrorMessage(conn_) : nullptr); }

// --- sending ----------------------------------------------------------------

void pipeline_connection::prepare(const std::string& name, const std::string& sql, result_handler done) {
  enqueue({query::kind::prepare, name, sql, {}, std::move(done), {}});
}

void pipeline_connection::execute_prepared(const std::string& name, const parameters& params, result_handler done,
                                           rows_handler rows) {
  enqueue({query::kind::execute_prepared, name, {}, params, std::move(done), std::move(rows)});
}

void pipeline_connection::execute(const std::string& sql, const parameters& params, result_handler done,
                                  rows_handler rows) {
  enqueue({query::kind::execute, sql, {}, params, std::move(done), std::move(rows)});
}

void pipeline_connection::enqueue(query q) {
  if (broken()) {
    asio::post(executor_, [done = std::move(q.done)] { done(query_result::lost("connection closed")); });
    return;
  }
  if (!send(q)) {
    const auto reason = libpq_error();
    asio::post(executor_, [done = std::move(q.done), reason] { done(query_result::lost(reason)); });
    fail(reason);
    return;
  }
  sent_.push_back(std::move(q));
  arm_single_row();
  // Everything queued in this turn of the io_context goes in one batch.
  if (!batch_scheduled_) {
    batch_scheduled_ = true;
    asio::post(executor_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->end_batch();
    });
  }
}

bool pipeline_connection::send(const query& q) {
  std::vector<const char*> values;
  values.reserve(q.params.size());
  for (const auto& p : q.params) values.push_back(p ? p->c_str() : nullptr);
  const int count = static_cast<int>(values.size());
  int queued = 0;
  switch (q.what) {
    case query::kind::prepare: queued = PQsendPrepare(conn_, q.text.c_str(), q.sql.c_str(), 0, nullptr); break;
    case query::kind::execute_prepared:
      queued = PQsendQueryPrepared(conn_, q.text.c_str(), count, values.data(), nullptr, nullptr, 0);
      break;
    case query::kind::execute:
      queued = PQsendQueryParams(conn_, q.text.c_str(), count, nullptr, values.data(), nullptr, nullptr, 0);
      break;
  }
  if (queued) {
    ++counters_.queries;
    ++unsynced_;
  }
  return queued != 0;
}

void pipeline_connection::end_batch() {
  batch_scheduled_ = false;
  if (broken() || unsynced_ == 0) return;
  batch_sizes_.push_back(unsynced_);
  unsynced_ = 0;
  // PQpipelineSync also pushes the buffer to the socket (libpq 14 to 16):
  // the batch leaves in one write, or as much of it as the socket takes.
  if (PQpipelineSync(conn_) != 1) return fail(libpq_error());
  ++counters_.sends;
  flush();
}

void pipeline_connection::flush() {
  if (broken() || watching_write_) return;
  const int more = PQflush(conn_);
  if (more < 0) return fail(libpq_error());
  if (more == 0) return;
  // The socket is full: the rest goes when it drains.
  watching_write_ = true;
  socket_.async_wait(wait_type::wait_write, [weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    self->watching_write_ = false;
    if (ec) return;
    ++self->counters_.sends;
    self->flush();
  });
}

// --- receiving --------------------------------------------------------------

// The socket is watched for the connection's whole life, idle or not, so a
// server that goes away is noticed at once rather than by the next query.
void pipeline_connection::watch_readable() {
  if (broken() || watching_read_) return;
  watching_read_ = true;
  socket_.async_wait(wait_type::wait_read, [weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    self->watching_read_ = false;
    if (ec) return;
    self->on_readable();
  });
}

void pipeline_connection::on_readable() {
  ++counters_.reads;
  if (PQconsumeInput(conn_) != 1) return fail(libpq_error());
  // libpq may have more to send once it has read (it flushes as it reads).
  flush();
  // Handlers may close or drop the connection: keep it alive until done.
  auto self = shared_from_this();
  deliver_results();
  watch_readable();
}

// libpq switches to single-row mode only for the query it is about to read
// and before it has read any of it: called whenever the oldest query may
// just have become that one (sent into an idle pipeline, or the answer
// before it ended), and before anything parses more input.
void pipeline_connection::arm_single_row() {
  if (broken() || sent_.empty() || answer_) return;
  auto& next = sent_.front();
  if (!next.rows || next.single_row) return;
  // 0 while a Sync is ahead of it: tried again when the Sync is read.
  next.single_row = PQsetSingleRowMode(conn_) == 1;
}

void pipeline_connection::deliver_results() {
  arm_single_row();
  while (!broken() && !batch_sizes_.empty() && !PQisBusy(conn_)) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) {
      // The end of the oldest query's answer.
      if (sent_.empty()) return fail("protocol: an answer to no query");
      auto q = std::move(sent_.front());
      sent_.pop_front();
      auto answer = answer_ ? std::move(*answer_) : query_result::lost("no answer");
      answer_.reset();
      arm_single_row();
      if (answer.skipped_) {
        q.single_row = false;  // to be told again when it is sent again
        skipped_.push_back(std::move(q));
      }
      else
        q.done(std::move(answer));
      continue;
    }
    switch (PQresultStatus(result)) {
      case PGRES_PIPELINE_SYNC: {
        PQclear(result);
        batch_sizes_.pop_front();
        // Queries skipped after an error in their batch never ran: again.
        auto again = std::move(skipped_);
        skipped_.clear();
        for (auto& q : again) enqueue(std::move(q));
        arm_single_row();
        break;
      }
      case PGRES_PIPELINE_ABORTED:
        PQclear(result);
        answer_ = query_result::lost("skipped");
        answer_->skipped_ = true;
        break;
      case PGRES_SINGLE_TUPLE: {
        // One row, handed over and freed before the next is read.
        const query_result row(result);
        if (!sent_.empty() && sent_.front().rows) sent_.front().rows(row);
        break;
      }
      default:
        // A query has one result; keep the first should a second ever come.
        if (answer_) {
          PQclear(result);
          break;
        }
        answer_.emplace(result);
        // Rows that came all at once (single-row mode could not be set):
        // handed over the same way, so the caller reads rows in one place.
        if (answer_->ok() && answer_->rows() > 0 && !sent_.empty() && sent_.front().rows)
          sent_.front().rows(*answer_);
    }
  }
}

void pipeline_connection::fail(const std::string& reason) {
  if (socket_.is_open()) socket_.release();
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  std::deque<query> lost;
  lost.swap(sent_);
  for (auto& q : skipped_) lost.push_back(std::move(q));
  skipped_.clear();
  batch_sizes_.clear();
  answer_.reset();
  for (auto& q : lost)
    asio::post(executor_, [done = std::move(q.done), reason] { done(query_result::lost(reason)); });
}

void pipeline_connection::close(const std::string& reason) { fail(reason); }

}  // namespace storygate::db
