#include "http/client_address.h"

#include <algorithm>
#include <optional>

namespace storygate::http {
namespace net = boost::asio::ip;
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on `separator` outside double quotes (RFC 7239 values may be quoted).
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    else if (text[i] == '\\' && quoted) ++i;
    else if (text[i] == separator && !quoted) {
      parts.push_back(trim(text.substr(begin, i - begin)));
      begin = i + 1;
    }
  }
  parts.push_back(trim(text.substr(std::min(begin, text.size()))));
  return parts;
}

std::optional<address> parse_address(std::string_view text) {
  // The parser reads a C string: an embedded NUL would cut the text short.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  const auto a = net::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return canonical(a);
}

// One hop as proxies write it: "192.0.2.1", "2001:db8::1", "[2001:db8::1]",
// with or without ":port" after an IPv4 address or a bracketed IPv6 one.
std::optional<address> parse_hop(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    return parse_address(text.substr(1, close - 1));
  }
  if (auto plain = parse_address(text)) return plain;
  // IPv4 with a port: exactly one colon.
  const auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    auto v4 = parse_address(text.substr(0, colon));
    if (v4 && v4->is_v4()) return v4;
  }
  return std::nullopt;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The "for" of one Forwarded element ("for=192.0.2.60;proto=http"), or ""
// when it names none (then the hop cannot be read).
std::string_view forwarded_for(std::string_view element) {
  for (const auto pair : split(element, ';')) {
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && equals_ignoring_case(trim(pair.substr(0, equals)), "for"))
      return trim(pair.substr(equals + 1));
  }
  return {};
}

// Every hop, left (farthest) to right (nearest).
std::vector<std::string_view> hops_of(const std::vector<std::string_view>& values, forwarded_header header) {
  std::vector<std::string_view> hops;
  for (const auto value : values)
    for (const auto element : split(value, ','))
      hops.push_back(header == forwarded_header::forwarded ? forwarded_for(element) : element);
  return hops;
}

bool in_v6(const net::address_v6& a, const net::network_v6& n) {
  const auto bytes = a.to_bytes();
  const auto base = n.network().to_bytes();
  const unsigned prefix = n.prefix_length();
  for (unsigned bit = 0; bit < prefix; ++bit) {
    const unsigned mask = 0x80u >> (bit % 8);
    if ((bytes[bit / 8] & mask) != (base[bit / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

trusted_proxies::trusted_proxies(const std::vector<std::string>& cidrs) {
  for (const auto& cidr : cidrs) {
    const auto slash = cidr.find('/');
    const auto host = parse_address(std::string_view(cidr).substr(0, slash));
    boost::system::error_code ec;
    if (host && host->is_v4()) {
      auto n = net::make_network_v4(slash == std::string::npos ? cidr + "/32" : cidr, ec);
      if (!ec) v4_.push_back(n.canonical());
    } else if (host) {
      auto n = net::make_network_v6(slash == std::string::npos ? cidr + "/128" : cidr, ec);
      if (!ec) v6_.push_back(n.canonical());
    }
    if (!host || ec)
      throw std::invalid_argument("'" + cidr + "' is not an address or network (e.g. 10.0.0.0/8, fd00::/8, 127.0.0.1)");
  }
}

bool trusted_proxies::contains(const address& given) const {
  const address a = canonical(given);
  if (a.is_v4()) {
    const auto value = a.to_v4().to_uint();
    return std::any_of(v4_.begin(), v4_.end(), [value](const net::network_v4& n) {
      return (value & n.netmask().to_uint()) == n.network().to_uint();
    });
  }
  return std::any_of(v6_.begin(), v6_.end(), [&a](const net::network_v6& n) { return in_v6(a.to_v6(), n); });
}

address canonical(const address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return net::make_address_v4(net::v4_mapped, a.to_v6());
  return a;
}

address client_address(const address& peer, const std::vector<std::string_view>& header_values,
                       forwarded_header header, const trusted_proxies& trusted) {
  address client = canonical(peer);
  if (!trusted.contains(client)) return client;
  const auto hops = hops_of(header_values, header);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    const auto parsed = parse_hop(*hop);
    if (!parsed) return client;  // unreadable: believe nothing left of it
    client = *parsed;
    if (!trusted.contains(client)) return client;
  }
  return client;
}

std::string limit_key(const address& given) {
  const address a = canonical(given);
  if (a.is_v4()) {
    const auto bytes = a.to_v4().to_bytes();
    return std::string(bytes.begin(), bytes.end());
  }
  const auto bytes = a.to_v6().to_bytes();
  return std::string(bytes.begin(), bytes.begin() + 8);  // the /64
}

}  // namespace storygate::http
