#pragma once
// How many connections one client address may hold open at once, so that a
// single client (a runaway script, a flood) cannot take every connection the
// server allows and lock DailyStory out.
//
// Addresses are counted as http::limit_key counts them (IPv6 per /64). With
// the PROXY protocol the listener admits a connection under the client
// address the proxy announces; behind an HTTP proxy (X-Forwarded-For) the
// cap can only see the proxy, so leave it off there or set it above what the
// proxy opens.
//
// Thread-safe.
#include <boost/asio/ip/address.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace storygate::http {

class address_limit {
 public:
  explicit address_limit(unsigned per_address) : per_address_(per_address) {}

  // A token the connection holds while open (releasing its place when the
  // last copy goes), or null when `address` already holds its share.
  std::shared_ptr<void> admit(const boost::asio::ip::address& address);

  // Connections open from `address` now, for tests and diagnostics.
  unsigned open_from(const boost::asio::ip::address& address) const;

 private:
  void release(const std::string& key);

  const unsigned per_address_;  // 0: no cap
  mutable std::mutex mutex_;
  std::unordered_map<std::string, unsigned> open_;  // by limit_key
  // Refusals are logged at most once a second: a flood must not become one.
  std::atomic<int64_t> last_logged_ms_{0};
};

}  // namespace storygate::http
