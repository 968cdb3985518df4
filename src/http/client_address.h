#pragma once
// Who the client is when proxies stand in between. Behind a reverse proxy or
// load balancer every connection comes from the proxy; the per-address
// protections (lockout, rate limit, connection cap, /metrics on loopback)
// need the address of the client the proxy speaks for.
//
// A proxy is believed only when it is trusted (--trusted-proxy CIDR). From a
// trusted peer the client is the right-most address in X-Forwarded-For (or
// RFC 7239 Forwarded: for=) that is not itself a trusted proxy: everything
// left of it was written by the client and may be forged. From any other
// peer the headers are ignored.
//
// Pure functions and an immutable set; safe to share between threads.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace storygate::http {

using boost::asio::ip::address;

// Which header a trusted proxy writes. Only that one is read: a proxy passes
// the other on untouched, so a client could forge it.
enum class forwarded_header { x_forwarded_for, forwarded };

class trusted_proxies {
 public:
  trusted_proxies() = default;  // trusts nobody
  // "10.0.0.0/8", "fd00::/8", or a single address ("127.0.0.1", "::1").
  // Throws std::invalid_argument naming the entry that is not one.
  explicit trusted_proxies(const std::vector<std::string>& cidrs);

  bool contains(const address& a) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

// IPv4-mapped IPv6 (::ffff:192.0.2.1) as the IPv4 address it is; others as given.
address canonical(const address& a);

// The client address for a request that came from `peer` carrying
// `header_values` (every line of the configured header, in order). The peer
// itself when it is not trusted, when the header is absent, or when an entry
// cannot be read as an address (a trusted proxy wrote it, so nothing left of
// it is believed; the nearest trusted hop stands for the client). When every
// entry is trusted, the left-most one.
address client_address(const address& peer, const std::vector<std::string_view>& header_values,
                       forwarded_header header, const trusted_proxies& trusted);

// The key per-address limits count a client under: the IPv4 address, or the
// /64 of an IPv6 address (one subscriber usually holds a whole /64, so
// counting single IPv6 addresses would give each attacker 2^64 of them).
std::string limit_key(const address& a);

}  // namespace storygate::http
