#pragma once
// Structured logs: one JSON object a line on stderr, for journald, docker and
// kubectl logs alike. Thread-safe.
//
// Never pass a secret (password, token, connection string) as a value.
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <variant>

namespace storygate::log {

enum class level { debug, info, warn, error };

struct field {
  std::string_view key;
  std::variant<std::string_view, int64_t, double, bool> value;
};

void set_min_level(level min);
void write(level at, std::string_view message, std::initializer_list<field> fields = {});

inline void info(std::string_view m, std::initializer_list<field> f = {}) { write(level::info, m, f); }
inline void warn(std::string_view m, std::initializer_list<field> f = {}) { write(level::warn, m, f); }
inline void error(std::string_view m, std::initializer_list<field> f = {}) { write(level::error, m, f); }

}  // namespace storygate::log
