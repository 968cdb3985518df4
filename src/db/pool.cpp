#include "db/pool.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <thread>

#include "db/session_setup.h"
#include "log/logger.h"

namespace storygate::db {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

constexpr std::string_view query_canceled = "57014";
// PostgreSQL could not convert text between UTF8 (client_encoding, see
// db/conninfo.h) and the database's encoding.
constexpr std::string_view untranslatable_character = "22P05";

// SQLSTATE classes that mean the session is gone (connection exceptions,
// administrator shutdown or pg_terminate_backend).
bool means_connection_lost(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0;
}

// How long past the statement timeout the watchdog lets a connection go
// without answering anything before it cuts it.
constexpr std::chrono::milliseconds stuck_grace{1000};
// A connection that fell back to another server is closed, to be opened on
// its own server again, this often.
constexpr std::chrono::seconds rebalance_interval{10};
// The most queries one batch carries: a batch's queries answer in order, so
// a long batch makes its last query wait for all the others.
constexpr std::size_t max_batch = 32;
// How many mapping versions a connection keeps prepared: the current one
// and the one requests still in flight may use during a reload.
constexpr std::size_t kept_versions = 2;

// The shard whose executor this thread runs (set by the shard itself, on its
// executor): a query from this thread goes there first, and so does not
// leave the thread. Keyed by the pool, as a process may hold more than one.
thread_local const void* local_pool = nullptr;
thread_local void* local_shard = nullptr;

struct waiting_query {
  query_call call;
  answer_handler done;
  clock::time_point queued_at;
  // Connections that had been open a while and turned out dead under it.
  unsigned found_dead = 0;
  // Sent to another server once, after a fresh connection to its own failed.
  bool moved_server = false;
  bool rows_seen = false;  // some of its rows went to call.rows: it cannot be run again
  // The server whose connection died under the last try: the next goes
  // elsewhere when it can (its other connections may be dead too, unnoticed).
  std::optional<std::size_t> avoid_target;
};

}  // namespace

std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string_view describe(failure f) {
  switch (f) {
    case failure::unavailable: return "unavailable";
    case failure::busy: return "busy";
    case failure::timed_out: return "timed_out";
    case failure::untranslatable: return "untranslatable";
    case failure::internal: return "internal";
  }
  return "internal";
}

// A shard: some of the pool's connections, with their queue, all on one
// executor. Every member function but the atomics' readers runs there.
class pool::shard {
 public:
  shard(const pool* owner, std::size_t own_index, const pool_options& options, servers& known,
        asio::any_io_executor executor)
      : owner_(owner),
        own_index_(own_index),
        executor_(std::move(executor)),
        options_(options),
        servers_(known),
        expiry_(executor_) {}

  void add_slot(std::size_t preferred_target) {
    slots_.push_back(std::make_unique<slot>(executor_));
    slots_.back()->preferred = preferred_target;
    publish();
  }

  const asio::any_io_executor& executor() const { return executor_; }

  // Opens every connection, so the first requests find them open: a query
  // that arrives while its connection is still opening would otherwise
  // share its first batch with every other one that arrived meanwhile.
  void open_all() {
    local_pool = owner_;
    local_shard = this;
    for (auto& s : slots_)
      if (s->now == slot::state::empty) start_connecting(*s);
    publish();
  }

  void enqueue(waiting_query q) {
    queue_.push_back(std::move(q));
    pump();
  }

  // After the executor stopped: nothing runs here any more.
  void close_all() {
    expiry_.cancel();
    for (auto& s : slots_) {
      s->timer.cancel();
      if (s->connection) s->connection->close("shutting down");
      s->connection.reset();
    }
  }

  // Takes one of the free connections for a query about to come, so two
  // threads at once do not both count on the same one; the shard sets the
  // true figure when it next looks. Any thread.
  bool claim() {
    auto now_free = free.load();
    while (now_free > 0 && !free.compare_exchange_weak(now_free, now_free - 1)) {
    }
    return now_free > 0;
  }

  // Read from any thread.
  std::atomic<unsigned> free{0};  // connections idle, or not open yet
  std::atomic<unsigned> busy{0};
  std::atomic<unsigned> waiting{0};
  std::atomic<unsigned> connected{0};
  std::atomic<uint64_t> queries{0};
  std::atomic<uint64_t> batches{0};
  unsigned size() const { return static_cast<unsigned>(slots_.size()); }

 private:
  struct slot {
    explicit slot(const asio::any_io_executor& executor) : timer(executor) {}
    enum class state { empty, connecting, idle, busy } now = state::empty;
    std::size_t preferred = 0;  // the server this connection reads from when it can
    std::size_t target = 0;     // the one it is connected (or connecting) to
    std::shared_ptr<pipeline_connection> connection;
    uint64_t epoch = 0;  // one per connection opened: late callbacks of an old one are ignored
    clock::time_point connected_at{};
    // What the session holds: the mapping versions prepared (oldest first)
    // and the TimeZone set.
    std::deque<std::shared_ptr<const statement_set>> prepared;
    std::string time_zone;
    // The batch out.
    uint64_t batch_id = 0;
    std::vector<waiting_query> batch;
    std::vector<std::optional<query_result>> answers;
    std::size_t unanswered = 0;
    clock::time_point batch_sent{};
    bool cut_off = false;  // the watchdog cut the connection under this batch
    bool connect_timed_out = false;
    asio::steady_timer timer;  // the connect deadline, then the watchdog
  };

  void pump() {
    for (auto& s : slots_)
      if (s->now == slot::state::idle) retire_if_unfit(*s);
    while (!queue_.empty()) {
      slot* idle = pick_idle(queue_.front());
      if (!idle) break;
      send_batch(*idle);
    }
    // What this shard cannot send now goes to a shard with a connection
    // free, so no query waits here for a busy connection while another
    // shard's sits idle; what is left waits here.
    publish();
    if (!queue_.empty()) hand_over();
    if (!queue_.empty()) open_for_waiting();
    publish();
    if (queue_.empty() && free.load() > 0) nudge_waiting_shards();
  }

  // A shard with a connection free and another with queries waiting must
  // find each other whichever of them looks first: each publishes its own
  // figure (free or waiting) before reading the other's, so at least one of
  // them sees the other (sequentially consistent atomics).
  void hand_over() {
    const auto& shards = owner_->shards_;
    for (std::size_t k = 1; k < shards.size() && !queue_.empty(); ++k) {
      shard* other = shards[(own_index_ + k) % shards.size()].get();
      while (!queue_.empty() && other->claim()) {
        asio::post(other->executor(), [other, q = std::move(queue_.front())]() mutable { other->enqueue(std::move(q)); });
        queue_.pop_front();
      }
    }
  }

  void nudge_waiting_shards() {
    for (const auto& other : owner_->shards_)
      if (other.get() != this && other->waiting.load() > 0)
        asio::post(other->executor(), [other = other.get()] { other->pump(); });
  }

  // The idle connections take turns (so every server gets its share); one
  // on a server the query should avoid only when there is no other.
  slot* pick_idle(const waiting_query& next) {
    slot* fallback = nullptr;
    for (std::size_t k = 0; k < slots_.size(); ++k) {
      const std::size_t index = (next_slot_ + k) % slots_.size();
      auto& s = *slots_[index];
      if (s.now != slot::state::idle) continue;
      if (next.avoid_target && s.target == *next.avoid_target) {
        if (!fallback) fallback = &s;
        continue;
      }
      next_slot_ = index + 1;
      return &s;
    }
    return fallback;
  }

  // An idle connection that died, whose server lags too far, or that is on
  // a fallback server while its own answers again, is closed.
  void retire_if_unfit(slot& s) {
    const auto now = clock::now();
    const bool fallback_due = s.target != s.preferred && now - s.connected_at >= rebalance_interval &&
                              servers_.available(s.preferred);
    if (!s.connection->broken() && !servers_.lags(s.target) && !fallback_due) return;
    s.connection->close("retired");
    s.connection.reset();
    s.now = slot::state::empty;
    --connected;
  }

  // Opens connections for the queries waiting, as many as there are of them
  // and free slots; when nothing can ever take them (no connection out or
  // opening, none can be opened), they fail now.
  void open_for_waiting() {
    std::size_t opening = 0, out = 0;
    for (auto& s : slots_) {
      opening += s->now == slot::state::connecting;
      out += s->now == slot::state::busy;
    }
    for (auto& s : slots_) {
      if (opening >= queue_.size()) break;
      if (s->now == slot::state::empty && start_connecting(*s)) ++opening;
    }
    if (opening == 0 && out == 0) {
      fail_waiting(failure::unavailable);
      return;
    }
    arm_expiry();
  }

  bool start_connecting(slot& s) {
    const std::size_t n = servers_.count();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t index = (s.preferred + k) % n;
      if (!servers_.available(index)) continue;
      s.now = slot::state::connecting;
      s.target = index;
      s.connect_timed_out = false;
      const auto epoch = ++s.epoch;
      s.connection = pipeline_connection::open(
          executor_, servers_.conninfo(index),
          [this, &s, epoch](std::shared_ptr<pipeline_connection> connection, std::string error) {
            if (s.epoch == epoch && s.now == slot::state::connecting) connected_or_not(s, std::move(connection), error);
          });
      s.timer.expires_after(options_.connect_timeout);
      s.timer.async_wait([&s, epoch](boost::system::error_code ec) {
        // The connection's handler then runs, without a connection.
        if (ec || s.epoch != epoch || s.now != slot::state::connecting || !s.connection) return;
        s.connect_timed_out = true;
        s.connection->close("timeout expired");
      });
      return true;
    }
    return false;
  }

  void connected_or_not(slot& s, std::shared_ptr<pipeline_connection> connection, const std::string& error) {
    s.timer.cancel();
    if (!connection) {
      servers_.connect_failed(s.target, s.connect_timed_out ? "timeout expired while connecting" : error);
      s.connection.reset();
      s.now = slot::state::empty;
      return pump();
    }
    servers_.connected(s.target);
    s.connection = std::move(connection);
    s.now = slot::state::idle;
    s.connected_at = clock::now();
    s.prepared.clear();
    s.time_zone.clear();
    ++connected;
    if (options_.session_state) {
      for (const auto& setting : session_setup(s.connection->server_version(), options_.statement_timeout))
        send_setting(s, setting);
      if (auto encoding = encoding_setup(s.connection->server_encoding(), false)) send_setting(s, *encoding);
      s.connection->sync();  // a batch of its own: nothing in it can undo it
    }
    pump();
  }

  // A statement whose answer matters only when it fails: then the session
  // cannot be trusted, and is closed (its queries fail or are tried again).
  void send_setting(slot& s, const setup_statement& setting) {
    pipeline_connection::parameters params;
    if (setting.parameter) params.emplace_back(*setting.parameter);
    s.connection->execute(setting.sql, params, [&s, epoch = s.epoch, sql = setting.sql](query_result r) {
      if (r.ok() || r.connection_lost() || r.sqlstate() == query_canceled) return;
      log::error("session set-up failed", {{"statement", sql}, {"sqlstate", r.sqlstate()}, {"detail", r.error()}});
      if (s.epoch == epoch && s.connection) s.connection->close("session set-up failed");
    });
  }

  void send_batch(slot& s) {
    // Behind pgbouncer one transaction per round trip: it may hand the next
    // to another server connection as soon as one ends.
    const std::size_t limit = options_.session_state ? max_batch : 1;
    s.batch.clear();
    while (!queue_.empty() && s.batch.size() < limit) {
      s.batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    s.now = slot::state::busy;
    ++busy;
    ++batches;
    queries += s.batch.size();
    s.answers.clear();
    s.answers.resize(s.batch.size());
    s.unanswered = s.batch.size();
    s.cut_off = false;
    s.batch_sent = clock::now();
    const auto id = ++s.batch_id;
    for (std::size_t i = 0; i < s.batch.size(); ++i) send_query(s, i, id);
    s.connection->sync();
    arm_watchdog(s);
  }

  void send_query(slot& s, std::size_t i, uint64_t id) {
    const auto& call = s.batch[i].call;
    const auto& set = *call.statements;
    auto answered = [this, &s, i, id](query_result r) {
      if (s.batch_id != id || i >= s.answers.size() || s.answers[i]) return;  // not this batch's (cannot happen)
      s.answers[i] = std::move(r);
      arm_watchdog(s);  // it moves
      if (--s.unanswered == 0) finish_batch(s);
    };
    pipeline_connection::rows_handler rows;
    if (call.rows)
      rows = [&s, i, id](const query_result& r) {
        if (s.batch_id != id || i >= s.batch.size()) return;
        s.batch[i].rows_seen = true;
        s.batch[i].call.rows(r);
      };
    if (!options_.session_state) {
      for (const auto& setting : transaction_setup(s.connection->server_version(), options_.statement_timeout,
                                                   set.time_zone))
        send_setting(s, setting);
      if (auto encoding = encoding_setup(s.connection->server_encoding(), true)) send_setting(s, *encoding);
      s.connection->execute(set.sql[call.statement], call.params, std::move(answered), std::move(rows));
      send_setting(s, end_transaction);
      s.connection->sync();
      return;
    }
    if (s.time_zone != set.time_zone) {
      send_setting(s, time_zone_setup(set.time_zone, false));
      s.connection->sync();  // on its own: a failing query after it must not undo it
      s.time_zone = set.time_zone;
    }
    prepare(s, call.statements);
    // No Sync of its own: the batch ends with one (send_batch), so it leaves
    // in one write and its answers come back in one (libpq flushes at every
    // Sync). A query that fails makes PostgreSQL skip the rest of the batch;
    // pipeline_connection sends those again, so each still ends on its own.
    s.connection->execute_prepared(set.names[call.statement], call.params, std::move(answered), std::move(rows));
    // Except on a server that would time the batch as one statement.
    if (!statement_timeout_per_execute(s.connection->server_version())) s.connection->sync();
  }

  // Prepares a mapping version's statements the first time the connection
  // serves it, and lets go of the oldest one kept.
  void prepare(slot& s, const std::shared_ptr<const statement_set>& set) {
    for (const auto& kept : s.prepared)
      if (kept->generation == set->generation) return;
    for (std::size_t k = 0; k < set->sql.size(); ++k)
      s.connection->prepare(set->names[k], set->sql[k], [&s, epoch = s.epoch, generation = set->generation](query_result r) {
        if (r.ok() || s.epoch != epoch) return;
        // Prepared again next time; the query that needed it fails on its own.
        for (auto it = s.prepared.begin(); it != s.prepared.end(); ++it)
          if ((*it)->generation == generation) {
            s.prepared.erase(it);
            break;
          }
      });
    s.prepared.push_back(set);
    if (s.prepared.size() <= kept_versions) return;
    for (const auto& name : s.prepared.front()->names)
      s.connection->execute("DEALLOCATE " + name, {}, [](query_result) {});
    s.prepared.pop_front();
  }

  // While a batch is out, something of it must come back within the
  // statement timeout and a grace period; if nothing does, the path to the
  // server has stopped moving (a frozen proxy, a stopped backend): the
  // connection is cut and its queries end as timed out.
  void arm_watchdog(slot& s) {
    if (s.now != slot::state::busy) return;
    s.timer.expires_after(options_.statement_timeout + stuck_grace);
    s.timer.async_wait([&s, id = s.batch_id](boost::system::error_code ec) {
      if (ec || s.batch_id != id || s.now != slot::state::busy || s.cut_off) return;
      s.cut_off = true;
      log::warn("database stopped answering; connection cut",
                {{"after_ms", static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       clock::now() - s.batch_sent)
                                                       .count())}});
      s.connection->close("database stopped answering");
    });
  }

  void finish_batch(slot& s) {
    s.timer.cancel();
    --busy;
    auto batch = std::move(s.batch);
    auto answers = std::move(s.answers);
    s.batch.clear();
    s.answers.clear();
    const auto connected_at = s.connected_at;
    const bool cut_off = s.cut_off;
    const auto target = s.target;
    const auto took = clock::now() - s.batch_sent;
    if (s.connection && !s.connection->broken()) {
      s.now = slot::state::idle;
    } else {
      s.connection.reset();
      s.now = slot::state::empty;
      --connected;
    }
    // The connection is free before any answer is handled: JSON, gzip and
    // metrics happen after it. A query that needs another (a page after its
    // count) queues it from its handler, for the next batch.
    for (std::size_t i = 0; i < batch.size(); ++i)
      settle(std::move(batch[i]), std::move(*answers[i]), connected_at, cut_off, target, took);
    pump();
  }

  void settle(waiting_query q, query_result r, clock::time_point connected_at, bool cut_off, std::size_t target,
              clock::duration took) {
    if (r.ok()) {
      if (options_.query_done) options_.query_done(took);
      return q.done(std::move(r));
    }
    if (cut_off) return q.done(failure::timed_out);
    if (r.sqlstate() == query_canceled) return q.done(failure::timed_out);
    if (r.connection_lost() || means_connection_lost(r.sqlstate())) {
      // Rows already handed over cannot be taken back.
      if (q.rows_seen) return q.done(failure::unavailable);
      // A connection that sat open may have been killed behind our back
      // (pg_terminate_backend, a firewall), and so may the others that sat
      // open beside it, in this shard or another: the query goes on to the
      // next connection, each one found dead being closed, until one
      // answers or a fresh one fails too (at most the pool's size of tries).
      // That says nothing about the server. Queries only read, so running
      // one twice is harmless.
      const bool was_open_already = connected_at < q.queued_at;
      if (was_open_already && q.found_dead < options_.size) {
        ++q.found_dead;
        return retry(std::move(q), target);
      }
      // A connection opened for it failed: the server is gone. Another
      // server, once.
      servers_.connect_failed(target, r.error());
      if (!q.moved_server && servers_.count() > 1) {
        q.moved_server = true;
        return retry(std::move(q), target);
      }
      return q.done(failure::unavailable);
    }
    if (r.sqlstate() == untranslatable_character) {
      log::warn("text not convertible between the database's encoding and UTF-8", {{"detail", r.error()}});
      return q.done(failure::untranslatable);
    }
    log::error("query failed", {{"sqlstate", r.sqlstate()}, {"detail", r.error()}});
    q.done(failure::internal);
  }

  void retry(waiting_query q, std::size_t failed_target) {
    q.avoid_target = failed_target;
    q.queued_at = clock::now();
    queue_.push_front(std::move(q));
  }

  void fail_waiting(failure why) {
    auto failed = std::move(queue_);
    queue_.clear();
    publish();
    for (auto& q : failed) q.done(why);
  }

  // Queries that waited longer than the pool wait fail as busy.
  void arm_expiry() {
    if (queue_.empty()) return;
    auto first = queue_.front().queued_at;
    for (const auto& q : queue_) first = std::min(first, q.queued_at);
    const auto due = first + options_.wait;
    if (expiry_armed_ && expiry_due_ <= due) return;
    expiry_armed_ = true;
    expiry_due_ = due;
    expiry_.expires_at(due);
    expiry_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      expiry_armed_ = false;
      expire();
    });
  }

  void expire() {
    const auto now = clock::now();
    std::vector<waiting_query> expired;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->queued_at + options_.wait <= now) {
        expired.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    arm_expiry();
    publish();
    for (auto& q : expired) q.done(failure::busy);
  }

  void publish() {
    unsigned open_or_idle = 0;
    for (auto& s : slots_) open_or_idle += s->now == slot::state::idle || s->now == slot::state::empty;
    free = queue_.empty() ? open_or_idle : 0;
    waiting = static_cast<unsigned>(queue_.size());
  }

  const pool* owner_;
  const std::size_t own_index_;  // in owner_->shards_
  asio::any_io_executor executor_;
  const pool_options& options_;
  servers& servers_;
  std::vector<std::unique_ptr<slot>> slots_;
  std::deque<waiting_query> queue_;
  std::size_t next_slot_ = 0;
  asio::steady_timer expiry_;
  bool expiry_armed_ = false;
  clock::time_point expiry_due_{};
};

namespace {

servers::options servers_options(const pool_options& o) {
  servers::options s;
  s.conninfos.push_back(o.conninfo);
  for (const auto& replica : o.replicas) s.conninfos.push_back(replica);
  s.max_lag = o.max_replica_lag;
  s.check_interval = o.health_interval;
  s.stuck_after = o.statement_timeout + stuck_grace;
  s.replicas_configured = !o.replicas.empty();
  return s;
}

}  // namespace

pool::pool(pool_options options, const std::vector<asio::any_io_executor>& executors)
    : options_(std::move(options)), servers_(servers_options(options_)) {
  const std::size_t shard_count = std::max<std::size_t>(1, std::min<std::size_t>(executors.size(), options_.size));
  for (std::size_t i = 0; i < shard_count; ++i)
    shards_.push_back(std::make_unique<shard>(this, i, options_, servers_, executors[i]));
  // Each shard's connections take the servers in turn, each shard starting
  // at a server of its own: the servers get even shares overall and within
  // every shard.
  for (unsigned i = 0; i < std::max(1u, options_.size); ++i) {
    const std::size_t shard_index = i % shard_count, within = i / shard_count;
    shards_[shard_index]->add_slot((shard_index + within) % servers_.count());
  }
  for (auto& s : shards_) asio::post(s->executor(), [s = s.get()] { s->open_all(); });
}

pool::~pool() { drain(); }

void pool::run(query_call call, answer_handler done) {
  const std::size_t n = shards_.size();
  if (n == 0) return done(failure::unavailable);  // drained
  // This thread's own shard first (the query then never leaves the thread),
  // then any with a connection free; when none is free, the query waits on
  // this thread's shard, or on the others in turn.
  auto* local = local_pool == this ? static_cast<shard*>(local_shard) : nullptr;
  shard* chosen = local && local->claim() ? local : nullptr;
  const std::size_t first = next_shard_++;
  for (std::size_t k = 0; k < n && !chosen; ++k) {
    auto& candidate = *shards_[(first + k) % n];
    if (&candidate != local && candidate.claim()) chosen = &candidate;
  }
  if (!chosen) chosen = local ? local : shards_[first % n].get();
  asio::dispatch(chosen->executor(),
                 [chosen, q = waiting_query{std::move(call), std::move(done), clock::now(), 0, false, false, std::nullopt}]() mutable {
                   chosen->enqueue(std::move(q));
                 });
}

void pool::drain() {
  if (local_pool == this) {  // another pool may come at the same address
    local_pool = nullptr;
    local_shard = nullptr;
  }
  servers_.stop();
  for (auto& s : shards_) s->close_all();
  // Their timers and connections are bound to the executors, and their
  // queued queries' handlers may own sessions: all go now, while both exist.
  shards_.clear();
}

pool::stats pool::snapshot() const {
  stats s;
  for (const auto& sh : shards_) {
    s.size += sh->size();
    s.busy += sh->busy.load();
    s.waiting += sh->waiting.load();
    s.connected += sh->connected.load();
    s.queries += sh->queries.load();
    s.batches += sh->batches.load();
  }
  s.servers = servers_.health();
  return s;
}

}  // namespace storygate::db
