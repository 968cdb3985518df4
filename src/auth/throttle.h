#pragma once
// Slows down guessing: a client address that fails authentication
// `max_failures` times within `window` is refused (429) for `lockout`, before
// its credentials are even looked at. Optionally, every client address is
// held to `rate` requests a second (a token bucket with a burst of twice
// that).
//
// Clients are keys (http::limit_key: an IPv4 address or an IPv6 /64); one
// key's failures never refuse another.
//
// Bounded: at most `max_clients` clients in good standing are tracked, the
// least recently seen forgotten first, and apart from them at most
// `max_clients` locked-out ones, until their lockout ends. So a flood of new
// addresses cannot push a locked-out client out of the table and free it:
// only a lockout can take a lockout's place, the one ending soonest.
// Thread-safe.
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

  // Clients tracked now (both kinds), for tests.
  std::size_t tracked() const;

 private:
  using clock = std::chrono::steady_clock;
  struct client_state {
    unsigned failures = 0;
    clock::time_point window_start{};
    clock::time_point locked_until{};
    double tokens = 0;
    clock::time_point refilled{};
    bool locked_list = false;  // listed in locked_, not recency_
    std::list<std::string>::iterator position;
  };
  client_state& state_of(const std::string& client, clock::time_point now);
  void lock(client_state& s, const std::string& client, clock::time_point now);

  const throttle_options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, client_state> clients_;
  std::list<std::string> recency_;  // in good standing, most recently seen first
  std::list<std::string> locked_;   // locked out, the lockout ending soonest first
};

}  // namespace storygate::auth
