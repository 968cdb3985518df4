#include "log/logger.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>

#include "json/record_writer.h"

namespace storygate::log {
namespace {

std::atomic<level> min_level{level::info};

constexpr std::size_t max_gathered = 32 * 1024;

// Lines not yet written, and whether a flusher will write them.
//
// stderr may block (a pipe to journald or docker that is not read fast
// enough). Lines are gathered under `mutex`, which is never held while
// writing, so request threads that only gather go on meanwhile; `writing`
// is held for a write, so one goes at a time and in the order gathered.
struct output {
  std::mutex mutex;  // gathered, deferring, stopping
  std::condition_variable wake;
  std::string gathered;
  bool deferring = false;
  bool stopping = false;

  std::mutex writing;  // batch
  std::string batch;   // what is being written; its room kept for the next
};
output& out() {
  static output o;
  return o;
}

// Writes what has gathered. Called without `mutex`: takes `writing`, then
// the gathered lines (the oldest first, as every batch is taken under
// `writing`).
void write_gathered(output& o) {
  std::lock_guard write_lock(o.writing);
  {
    std::lock_guard lock(o.mutex);
    if (o.gathered.empty()) return;
    o.batch.swap(o.gathered);
  }
  std::fwrite(o.batch.data(), 1, o.batch.size(), stderr);
  std::fflush(stderr);
  o.batch.clear();
}

std::string_view name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}

// UTC with milliseconds: log collectors sort and join on it. The part up to
// the second is kept per thread: every request writes a line.
struct timestamp {
  char text[32];
  std::size_t length;
};
timestamp utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  thread_local std::time_t cached_second = -1;
  thread_local char up_to_second[32];
  thread_local std::size_t up_to_second_length = 0;
  if (seconds != cached_second) {
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    const int n = std::snprintf(up_to_second, sizeof up_to_second, "%04d-%02d-%02dT%02d:%02d:%02d",
                                parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
                                parts.tm_min, parts.tm_sec);
    up_to_second_length = n > 0 ? std::min<std::size_t>(n, sizeof up_to_second - 1) : 0;
    cached_second = seconds;
  }
  timestamp t;
  std::memcpy(t.text, up_to_second, up_to_second_length);
  char* end = t.text + up_to_second_length;
  *end++ = '.';
  *end++ = static_cast<char>('0' + millis / 100);
  *end++ = static_cast<char>('0' + millis / 10 % 10);
  *end++ = static_cast<char>('0' + millis % 10);
  *end++ = 'Z';
  t.length = static_cast<std::size_t>(end - t.text);
  return t;
}

}  // namespace

void set_min_level(level min) { min_level = min; }

void write(level at, std::string_view message, std::initializer_list<field> fields, delivery when) {
  if (at < min_level.load()) return;
  // One writer per thread, started afresh for each line: a line then
  // allocates nothing once its thread has written one (every request writes
  // one).
  thread_local json::record_writer w;
  w.clear();
  w.begin_object();
  w.key("ts");
  const timestamp now = utc_now();
  w.string({now.text, now.length});
  w.key("level");
  w.string(name(at));
  w.key("msg");
  w.string(message);
  for (const auto& f : fields) {
    w.key(f.key);
    std::visit(
        [](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) w.string(v);
          else if constexpr (std::is_same_v<T, bool>) w.boolean(v);
          else if constexpr (std::is_same_v<T, int64_t>) w.integer(v);
          else {
            // Three decimals (microseconds, for "ms"), without printf's
            // locale machinery.
            char text[64];
            const auto end = std::to_chars(text, text + sizeof text, v, std::chars_format::fixed, 3).ptr;
            w.value(mapping::field_type::number, text, static_cast<std::size_t>(end - text));
          }
        },
        f.value);
  }
  w.end_object();
  auto& o = out();
  bool write_now = false;
  {
    std::lock_guard lock(o.mutex);
    o.gathered += w.written();
    o.gathered += '\n';
    write_now = when == delivery::at_once || !o.deferring || o.gathered.size() >= max_gathered;
  }
  if (write_now) write_gathered(o);
}

deferred_writes::deferred_writes(std::chrono::milliseconds every) {
  {
    std::lock_guard lock(out().mutex);
    out().deferring = true;
    out().stopping = false;
  }
  flusher_ = std::thread([every] {
    auto& o = out();
    std::unique_lock lock(o.mutex);
    while (!o.stopping) {
      o.wake.wait_for(lock, every, [&o] { return o.stopping; });
      lock.unlock();
      write_gathered(o);
      lock.lock();
    }
    lock.unlock();
    write_gathered(o);  // stopped before it first waited
  });
}

deferred_writes::~deferred_writes() {
  auto& o = out();
  {
    std::lock_guard lock(o.mutex);
    o.stopping = true;
    o.deferring = false;
  }
  o.wake.notify_one();
  flusher_.join();
}

}  // namespace storygate::log
