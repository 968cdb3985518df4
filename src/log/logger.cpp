#include "log/logger.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "json/record_writer.h"

namespace storygate::log {
namespace {

std::atomic<level> min_level{level::info};
std::mutex output_mutex;

std::string_view name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}

// UTC with milliseconds: log collectors sort and join on it.
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(millis));
  return text;
}

}  // namespace

void set_min_level(level min) { min_level = min; }

void write(level at, std::string_view message, std::initializer_list<field> fields) {
  if (at < min_level.load()) return;
  json::record_writer w;
  w.begin_object();
  w.key("ts");
  w.string(utc_now());
  w.key("level");
  w.string(name(at));
  w.key("msg");
  w.string(message);
  for (const auto& f : fields) {
    w.key(f.key);
    std::visit(
        [&w](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) w.string(v);
          else if constexpr (std::is_same_v<T, bool>) w.boolean(v);
          else if constexpr (std::is_same_v<T, int64_t>) w.integer(v);
          else {
            const std::string text = std::to_string(v);
            w.value(mapping::field_type::number, text.c_str(), text.size());
          }
        },
        f.value);
  }
  w.end_object();
  std::string line = w.take();
  line += '\n';
  std::lock_guard lock(output_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace storygate::log
