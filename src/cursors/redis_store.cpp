#include "cursors/redis_store.h"

#include <hiredis/hiredis.h>

#include "log/logger.h"

namespace storygate::cursors {
namespace {

constexpr auto warning_interval = std::chrono::seconds(10);

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

void append(redisContext* context, const std::vector<std::string>& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& part : command) {
    argv.push_back(part.data());
    lengths.push_back(part.size());
  }
  redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data());
}

// One command run at once on a fresh connection (AUTH, SELECT): true on success.
bool run_now(redisContext* context, const std::vector<std::string>& command) {
  append(context, command);
  void* raw = nullptr;
  if (redisGetReply(context, &raw) != REDIS_OK) return false;
  auto* reply = static_cast<redisReply*>(raw);
  const bool ok = reply->type != REDIS_REPLY_ERROR;
  freeReplyObject(reply);
  return ok;
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
  disconnect();
}

void redis_store::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left to answer
    std::vector<operation> batch;
    batch.swap(queue_);
    lock.unlock();
    serve(batch);
    lock.lock();
  }
}

// Everything queued goes to Redis as one pipeline: one round trip however
// many requests arrived meanwhile.
void redis_store::serve(std::vector<operation>& batch) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<operation*> live;
  for (auto& op : batch) {
    if (now - op.queued > options_.timeout) finish(op, store_status::timeout, nullptr);
    else live.push_back(&op);
  }
  if (live.empty()) return;
  if (!context_ && !connect()) {
    for (auto* op : live) finish(*op, store_status::unavailable, nullptr);
    return;
  }
  for (const auto* op : live)
    for (const auto& command : op->commands) append(context_, command);
  for (std::size_t i = 0; i < live.size(); ++i) {
    store_status status = store_status::ok;
    redisReply* last = nullptr;
    for (std::size_t c = 0; c < live[i]->commands.size(); ++c) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK) {
        // A read that timed out leaves the connection out of step: drop it;
        // this and the later operations of the batch fail now.
        const auto failure = context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                                 ? store_status::timeout
                                 : store_status::unavailable;
        if (last) freeReplyObject(last);
        disconnect();
        next_attempt_ = std::chrono::steady_clock::now() + options_.retry_interval;
        for (std::size_t j = i; j < live.size(); ++j) finish(*live[j], failure, nullptr);
        return;
      }
      auto* reply = static_cast<redisReply*>(raw);
      if (reply->type == REDIS_REPLY_ERROR) status = store_status::error;
      if (last) freeReplyObject(last);
      last = reply;
    }
    finish(*live[i], status, status == store_status::ok ? last : nullptr);
    if (last) freeReplyObject(last);
  }
}

bool redis_store::connect() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return false;
  next_attempt_ = now + options_.retry_interval;
  const auto& t = options_.target;
  redisContext* context = redisConnectWithTimeout(t.host.c_str(), t.port, to_timeval(options_.timeout));
  if (!context || context->err) {
    if (context) redisFree(context);
    return false;
  }
  redisSetTimeout(context, to_timeval(options_.timeout));
  std::vector<std::string> auth{"AUTH"};
  if (!t.user.empty()) auth.push_back(t.user);
  auth.push_back(t.password);
  if ((!t.password.empty() && !run_now(context, auth)) ||
      (t.database != 0 && !run_now(context, {"SELECT", std::to_string(t.database)}))) {
    // Wrong credentials or database: said once a warning interval, never with the password.
    redisFree(context);
    return false;
  }
  context_ = context;
  return true;
}

void redis_store::disconnect() {
  if (context_) redisFree(context_);
  context_ = nullptr;
}

void redis_store::finish(operation& op, store_status status, redisReply* reply) {
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - op.queued;
  if (metrics_) metrics_->cursor_store_done(op.kind, to_string(status), took);
  if (status != store_status::ok) note_failure(status);
  else if (failing_) {
    failing_ = false;
    log::info("cursor store answers again; walks continue from it");
  }
  op.done(status, reply);
}

void redis_store::note_failure(store_status status) {
  failing_ = true;
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
}

}  // namespace storygate::cursors
