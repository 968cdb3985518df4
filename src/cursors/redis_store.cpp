#include "cursors/redis_store.h"

#include <hiredis/hiredis.h>
#include <signal.h>

#include "log/logger.h"

namespace storygate::cursors {
namespace {

constexpr auto warning_interval = std::chrono::seconds(10);

store_status status_of(exchange_failure failure) {
  return failure == exchange_failure::timeout ? store_status::timeout : store_status::unavailable;
}

}  // namespace

const char* to_string(store_status status) {
  switch (status) {
    case store_status::ok: return "ok";
    case store_status::timeout: return "timeout";
    case store_status::unavailable: return "unavailable";
    case store_status::error: break;
  }
  return "error";
}

redis_store::redis_store(options opts, observe::metrics* metrics)
    : options_(std::move(opts)), metrics_(metrics) {
  if (options_.target.tls) tls_ = make_store_tls_context(options_.ca_file);
  // Started last: run() uses every member.
  thread_ = std::thread([this] { run(); });
}

redis_store::~redis_store() { stop(); }

void redis_store::load(std::string key, load_done done) {
  operation op{"load", {{"GET", std::move(key)}}, nullptr, {}};
  op.done = [done = std::move(done)](store_status status, redisReply* reply) {
    if (status != store_status::ok) return done(status, std::nullopt);
    if (reply->type == REDIS_REPLY_STRING) return done(status, std::string(reply->str, reply->len));
    if (reply->type == REDIS_REPLY_NIL) return done(status, std::nullopt);
    done(store_status::error, std::nullopt);
  };
  enqueue(std::move(op));
}

void redis_store::save(store_writes writes, save_done done) {
  operation op{"save", {{"MULTI"}}, nullptr, {}};
  const std::string ttl_ms = std::to_string(std::chrono::milliseconds(options_.ttl).count());
  for (auto& [key, value] : writes.set) op.commands.push_back({"SET", std::move(key), std::move(value), "PX", ttl_ms});
  if (!writes.erase.empty()) {
    std::vector<std::string> del{"DEL"};
    for (auto& key : writes.erase) del.push_back(std::move(key));
    op.commands.push_back(std::move(del));
  }
  op.commands.push_back({"EXEC"});
  op.done = [done = std::move(done)](store_status status, redisReply* reply) {
    // EXEC answers an array of the commands' replies, or nil when aborted.
    if (status == store_status::ok && reply->type != REDIS_REPLY_ARRAY) status = store_status::error;
    done(status);
  };
  enqueue(std::move(op));
}

void redis_store::enqueue(operation op) {
  op.queued = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      wake_.notify_one();
      return;
    }
  }
  op.done(store_status::unavailable, nullptr);
}

void redis_store::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    wake_.notify_one();
  }
  thread_.join();
}

void redis_store::run() {
  // A Redis that closed its end turns our next write into EPIPE, not a
  // SIGPIPE that would end the process (OpenSSL writes with write(2)).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, nothing left to answer
    std::vector<operation> batch;
    batch.swap(queue_);
    lock.unlock();
    serve(batch);
    lock.lock();
  }
  connection_.reset();
}

// Everything queued goes to Redis as one pipeline: one round trip however
// many requests arrived meanwhile. Each operation's reply is waited for until
// its own deadline.
void redis_store::serve(std::vector<operation>& batch) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<operation*> live;
  for (auto& op : batch) {
    if (now - op.queued >= options_.timeout) finish(op, store_status::timeout, nullptr);
    else live.push_back(&op);
  }
  if (live.empty()) return;
  if (!connection_ && !connect()) {
    for (auto* op : live) finish(*op, store_status::unavailable, nullptr);
    return;
  }
  const auto deadline_of = [this](const operation& op) { return op.queued + options_.timeout; };
  for (const auto* op : live)
    for (const auto& command : op->commands) connection_->append(command);
  auto failure = connection_->flush(deadline_of(*live.back()));
  for (std::size_t i = 0; i < live.size() && failure == exchange_failure::none; ++i) {
    store_status status = store_status::ok;
    redisReply* last = nullptr;
    for (std::size_t c = 0; c < live[i]->commands.size() && failure == exchange_failure::none; ++c) {
      redisReply* reply = nullptr;
      failure = connection_->read_reply(deadline_of(*live[i]), reply);
      if (failure != exchange_failure::none) break;
      if (reply->type == REDIS_REPLY_ERROR) status = store_status::error;
      if (last) freeReplyObject(last);
      last = reply;
    }
    if (failure == exchange_failure::none) finish(*live[i], status, status == store_status::ok ? last : nullptr);
    if (last) freeReplyObject(last);
    if (failure != exchange_failure::none) {
      // A reply that did not come in time leaves the connection out of step:
      // drop it; this and the later operations of the batch fail now.
      connection_.reset();
      next_attempt_ = std::chrono::steady_clock::now() + options_.retry_interval;
      for (std::size_t j = i; j < live.size(); ++j) finish(*live[j], status_of(failure), nullptr);
    }
  }
  if (failure != exchange_failure::none && connection_) {
    // The flush failed: nothing was answered.
    connection_.reset();
    next_attempt_ = std::chrono::steady_clock::now() + options_.retry_interval;
    for (auto* op : live) finish(*op, status_of(failure), nullptr);
  }
}

bool redis_store::connect() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return false;
  next_attempt_ = now + options_.retry_interval;
  const auto& t = options_.target;
  const auto deadline = now + options_.timeout;
  exchange_failure why = exchange_failure::none;
  auto connection = redis_connection::open(t, tls_.get(), deadline, why);
  if (!connection) return false;
  // AUTH and SELECT on a fresh connection, answered before anything else.
  std::vector<std::vector<std::string>> setup;
  if (!t.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!t.user.empty()) auth.push_back(t.user);
    auth.push_back(t.password);
    setup.push_back(std::move(auth));
  }
  if (t.database != 0) setup.push_back({"SELECT", std::to_string(t.database)});
  for (const auto& command : setup) connection->append(command);
  if (connection->flush(deadline) != exchange_failure::none) return false;
  for (std::size_t i = 0; i < setup.size(); ++i) {
    redisReply* reply = nullptr;
    if (connection->read_reply(deadline, reply) != exchange_failure::none) return false;
    // Wrong credentials or database: logged as a failure, never with the password.
    const bool refused = reply->type == REDIS_REPLY_ERROR;
    freeReplyObject(reply);
    if (refused) return false;
  }
  connection_ = std::move(connection);
  return true;
}

void redis_store::finish(operation& op, store_status status, redisReply* reply) {
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - op.queued;
  if (metrics_) metrics_->cursor_store_done(op.kind, to_string(status), took);
  if (status != store_status::ok) {
    note_failure(status);
  } else if (warned_) {
    // Said once per warning, so a store that flaps logs no more than that.
    warned_ = false;
    log::info("cursor store answers again; walks continue from it");
  }
  op.done(status, reply);
}

void redis_store::note_failure(store_status status) {
  ++failures_unlogged_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_warning_ < warning_interval) return;
  log::warn("cursor store failed; walks continue from this replica's cursors, else by OFFSET",
            {{"reason", to_string(status)},
             {"host", options_.target.host},
             {"port", static_cast<int64_t>(options_.target.port)},
             {"failures", static_cast<int64_t>(failures_unlogged_)}});
  failures_unlogged_ = 0;
  last_warning_ = now;
  warned_ = true;
}

}  // namespace storygate::cursors
