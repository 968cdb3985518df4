#include "db/pool.h"

#include <pqxx/pqxx>

#include <atomic>

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

// Logged once per change, not once per request, so an outage does not flood the log.
std::atomic<bool> database_reachable{true};

void note_reachable(bool reachable, std::string_view detail = {}) {
  if (database_reachable.exchange(reachable) == reachable) return;
  if (reachable)
    log::info("database reachable again");
  else
    log::warn("database unreachable", {{"detail", detail}});
}

// libpq's messages end in newlines and may span lines.
std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

std::string_view describe(failure f) {
  switch (f) {
    case failure::unavailable: return "unavailable";
    case failure::busy: return "busy";
    case failure::timed_out: return "timed_out";
    case failure::internal: return "internal";
  }
  return "internal";
}

std::unique_ptr<pqxx::connection_base> open_session(const pool_options& options) {
  auto connection = std::make_unique<pqxx::connection>(options.conninfo);
  // Read-only whatever the role may do; runaway queries are cancelled by
  // the server itself.
  pqxx::nontransaction setup(*connection);
  setup.exec("SET default_transaction_read_only = on");
  setup.exec("SET statement_timeout = " + std::to_string(options.statement_timeout.count()));
  setup.commit();
  return connection;
}

struct pool::worker_slot {
  std::unique_ptr<pqxx::connection_base> connection;
  uint64_t prepared_generation = 0;
  clock::time_point retry_at{};
  std::chrono::milliseconds backoff = first_backoff;
  bool reused = false;  // has served a job since it was opened
};

pool::pool(pool_options options) : options_(std::move(options)) {
  for (unsigned i = 0; i < options_.size; ++i) slots_.push_back(std::make_unique<worker_slot>());
  for (auto& slot : slots_) threads_.emplace_back([this, s = slot.get()] { work_loop(*s); });
  threads_.emplace_back([this] { expire_loop(); });
}

pool::~pool() { drain(); }

void pool::submit(job work, on_failure failed) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(work), std::move(failed), clock::now()});
      work_ready_.notify_one();
      queue_changed_.notify_one();
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
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (auto& slot : slots_) slot->connection.reset();
}

pool::stats pool::snapshot() const {
  std::lock_guard lock(mutex_);
  stats s;
  s.size = options_.size;
  s.busy = busy_;
  s.waiting = static_cast<unsigned>(queue_.size());
  for (const auto& slot : slots_) s.connected += slot->connection != nullptr;
  return s;
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
    queue_changed_.notify_one();
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
    if (stopping_) return;
    if (queue_.empty()) {
      queue_changed_.wait(lock);
      continue;
    }
    const auto deadline = queue_.front().queued_at + options_.wait;
    if (clock::now() < deadline) {
      queue_changed_.wait_until(lock, deadline);
      continue;
    }
    std::vector<pending> expired;
    while (!queue_.empty() && queue_.front().queued_at + options_.wait <= clock::now()) {
      expired.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    for (auto& p : expired) p.failed(failure::busy);
    lock.lock();
  }
}

bool pool::ensure_connected(worker_slot& slot) {
  if (slot.connection && slot.connection->is_open()) return true;
  slot.connection.reset();
  if (clock::now() < slot.retry_at) return false;
  try {
    slot.connection = open_session(options_);
    slot.prepared_generation = 0;
    slot.backoff = first_backoff;
    slot.reused = false;
    note_reachable(true);
    return true;
  } catch (const std::exception& e) {
    slot.retry_at = clock::now() + slot.backoff;
    slot.backoff = std::min(slot.backoff * 2, max_backoff);
    note_reachable(false, one_line(e.what()));
    return false;
  }
}

void pool::run(pending& p, worker_slot& slot) {
  for (int attempt = 0;; ++attempt) {
    if (!ensure_connected(slot)) return p.failed(failure::unavailable);
    const bool was_reused = slot.reused;
    try {
      lease leased{*slot.connection, slot.prepared_generation};
      const auto started = clock::now();
      p.work(leased);
      if (options_.job_done) options_.job_done(clock::now() - started);
      slot.reused = true;
      return;
    } catch (const pqxx::broken_connection& e) {
      slot.connection.reset();
      // A connection that sat idle may have been killed behind our back
      // (pg_terminate_backend, a firewall): one retry on a fresh one. The
      // jobs only read, so running one twice is harmless.
      if (attempt == 0 && was_reused) continue;
      note_reachable(false, one_line(e.what()));
      return p.failed(failure::unavailable);
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() == query_canceled) return p.failed(failure::timed_out);
      if (means_connection_lost(e.sqlstate())) {
        slot.connection.reset();
        if (attempt == 0 && was_reused) continue;
        return p.failed(failure::unavailable);
      }
      log::error("query failed", {{"sqlstate", e.sqlstate()}, {"detail", one_line(e.what())}});
      return p.failed(failure::internal);
    } catch (const std::exception& e) {
      log::error("database job failed", {{"detail", one_line(e.what())}});
      return p.failed(failure::internal);
    }
  }
}

}  // namespace storygate::db
