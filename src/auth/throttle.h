#pragma once
// Slows down guessing: a client address that fails authentication
// `max_failures` times within `window` is refused (429) for `lockout`, before
// its credentials are even looked at. Optionally, every client address is
// held to `rate` requests a second (a token bucket with a burst of twice
// that).
//
// Bounded: at most `max_clients` addresses are tracked; the least recently
// seen is forgotten first. Thread-safe.
#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace storygate::auth {

struct throttle_options {
  unsigned max_failures = 10;
  std::chrono::seconds window{60};
  std::chrono::seconds lockout{60};
  unsigned rate = 0;  // requests a second per client address; 0: no limit
  std::size_t max_clients = 10000;
};

class throttle {
 public:
  explicit throttle(throttle_options options) : options_(options) {}

  // Seconds the client must wait before it is served again, or nullopt when
  // it may go on. Counts the request against the rate limit.
  std::optional<std::chrono::seconds> admit(const std::string& client);
  void failed(const std::string& client);
  void succeeded(const std::string& client);

 private:
  using clock = std::chrono::steady_clock;
  struct client_state {
    unsigned failures = 0;
    clock::time_point window_start{};
    clock::time_point locked_until{};
    double tokens = 0;
    clock::time_point refilled{};
    std::list<std::string>::iterator recency;
  };
  client_state& state_of(const std::string& client, clock::time_point now);

  const throttle_options options_;
  std::mutex mutex_;
  std::unordered_map<std::string, client_state> clients_;
  std::list<std::string> recency_;  // most recently seen first
};

}  // namespace storygate::auth
