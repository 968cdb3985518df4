#pragma once
// The shared cursor store: walks' states in Redis, so that any replica can
// continue any walk by keyset.
//
// The store sits on the request path, so it never blocks an I/O thread and
// never fails a request: one thread of its own talks to Redis (plain TCP or
// TLS, commands pipelined in batches), callers get their answer
// through a callback, and every operation has a deadline of a few
// milliseconds (`timeout`). When Redis is down or slow the callback says so at
// once, and the caller goes on without the store (this replica's own cursors,
// else OFFSET). While down, the store tries to connect again every
// `retry_interval`, and is used again as soon as it answers. Failures are
// counted (metrics) and logged at most once every 10 seconds.
//
// Thread-safe. Callbacks run on the store's thread, one at a time: they must
// be quick (hand work on, as to the database pool).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cursors/redis_connection.h"
#include "cursors/store_url.h"
#include "observe/metrics.h"

struct redisReply;

namespace storygate::cursors {

enum class store_status { ok, timeout, unavailable, error };
const char* to_string(store_status status);

// The writes of one page, applied together (MULTI/EXEC).
struct store_writes {
  std::vector<std::pair<std::string, std::string>> set;  // key, value: with the store's TTL
  std::vector<std::string> erase;
};

class redis_store {
 public:
  struct options {
    store_target target;
    std::chrono::milliseconds timeout{10};          // an operation's deadline, from the call
    std::chrono::milliseconds retry_interval{500};  // between connection attempts while down
    std::chrono::seconds ttl{3600};                 // of every key written
    std::string ca_file;  // rediss://: the CA certificates (PEM) to verify Redis by; empty: the system's
  };
  using load_done = std::function<void(store_status, std::optional<std::string> value)>;
  using save_done = std::function<void(store_status)>;

  // `metrics` may be null. Connects lazily, on the first operation. Throws
  // store_url_error when rediss://'s CA file cannot be loaded.
  redis_store(options opts, observe::metrics* metrics);
  ~redis_store();  // stop()
  redis_store(const redis_store&) = delete;
  redis_store& operator=(const redis_store&) = delete;

  // GET: `done` gets ok with the value, ok with nullopt when there is none,
  // or the failure.
  void load(std::string key, load_done done);
  void save(store_writes writes, save_done done);
  // Answers what is queued, then ends the thread; operations after it fail
  // (unavailable) at once. Call it while the callbacks' targets still live.
  void stop();

 private:
  struct operation {
    const char* kind;  // "load" or "save", for metrics
    std::vector<std::vector<std::string>> commands;
    // Gets the status and the reply to the last command (null unless ok).
    std::function<void(store_status, redisReply*)> done;
    std::chrono::steady_clock::time_point queued;
  };

  void enqueue(operation op);
  void run();
  void serve(std::vector<operation>& batch);
  bool connect();
  void finish(operation& op, store_status status, redisReply* reply);
  void note_failure(store_status status);

  const options options_;
  observe::metrics* const metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<operation> queue_;
  bool stopping_ = false;
  std::thread thread_;

  std::shared_ptr<SSL_CTX> tls_;  // rediss:// only
  // The store's thread only.
  std::unique_ptr<redis_connection> connection_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::steady_clock::time_point last_warning_{};
  uint64_t failures_unlogged_ = 0;
  bool warned_ = false;  // a failure was logged and no recovery since
};

}  // namespace storygate::cursors
