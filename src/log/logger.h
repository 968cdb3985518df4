#pragma once
// Structured logs: one JSON object a line on stderr, for journald, docker and
// kubectl logs alike. Thread-safe.
//
// A line is written at once, except the access log's while a
// deferred_writes lives (the server's run): those gather and go out
// together, every few milliseconds or when a buffer fills, so that a request
// costs no write() of its own (README, "Request path"). Any other line first
// writes what has gathered, so the order of lines is kept. A stderr that
// blocks holds up the lines written at once, and access lines only once
// 32 KB of them have gathered: never a request that merely adds its line.
//
// Never pass a secret (password, token, connection string) as a value.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <thread>
#include <string_view>
#include <variant>

namespace storygate::log {

enum class level { debug, info, warn, error };

struct field {
  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;
};

enum class delivery { at_once, may_wait };

void set_min_level(level min);
void write(level at, std::string_view message, std::initializer_list<field> fields = {},
           delivery when = delivery::at_once);

inline void info(std::string_view m, std::initializer_list<field> f = {}) { write(level::info, m, f); }
inline void warn(std::string_view m, std::initializer_list<field> f = {}) { write(level::warn, m, f); }
inline void error(std::string_view m, std::initializer_list<field> f = {}) { write(level::error, m, f); }
// The access log: one line per request answered.
inline void access(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::info, m, f, delivery::may_wait);
}

// While one lives, access lines wait up to `every` (or until 32 KB have
// gathered) before they are written; its end writes what is left. One at a
// time. A crash loses at most `every` of access lines.
class deferred_writes {
 public:
  explicit deferred_writes(std::chrono::milliseconds every);
  ~deferred_writes();
  deferred_writes(const deferred_writes&) = delete;
  deferred_writes& operator=(const deferred_writes&) = delete;

 private:
  std::thread flusher_;
};

}  // namespace storygate::log
