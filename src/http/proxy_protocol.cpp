#include "http/proxy_protocol.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace storygate::http {
namespace net = boost::asio::ip;
namespace {

constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::size_t v1_max_bytes = 107;  // the spec's bound, CRLF included
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t v2_fixed_bytes = 16;

proxy_header invalid(std::string why) {
  proxy_header h;
  h.status = proxy_header::state::invalid;
  h.error = std::move(why);
  return h;
}

proxy_header complete(std::size_t size) {
  proxy_header h;
  h.status = proxy_header::state::complete;
  h.size = size;
  return h;
}

// True when `bytes` and `expected` agree on their common length.
bool agrees(std::string_view bytes, std::string_view expected) {
  const auto n = std::min(bytes.size(), expected.size());
  return bytes.substr(0, n) == expected.substr(0, n);
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ' ') {
      out.push_back(line.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  return out;
}

std::optional<std::uint16_t> port_of(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" or "PROXY UNKNOWN ...\r\n".
proxy_header parse_v1(std::string_view bytes) {
  // Printable US-ASCII up to CR LF: anything else (a NUL that would cut an
  // address short, a bare LF) is not the protocol.
  std::size_t end = 0;
  for (;; ++end) {
    if (end + 2 > v1_max_bytes) return invalid("PROXY v1 line longer than 107 bytes");
    if (end == bytes.size()) return {};
    const auto c = static_cast<unsigned char>(bytes[end]);
    if (c == '\r') {
      if (end + 1 == bytes.size()) return {};
      if (bytes[end + 1] != '\n') return invalid("PROXY v1 line not ended by CRLF");
      break;
    }
    if (c < 0x20 || c > 0x7e) return invalid("PROXY v1 line with a control or non-ASCII byte");
  }
  const auto fields = words(bytes.substr(v1_prefix.size(), end - v1_prefix.size()));
  if (fields.empty()) return invalid("PROXY v1 line without a protocol");
  if (fields[0] == "UNKNOWN") return complete(end + 2);  // the rest of the line is to be ignored
  if (fields[0] != "TCP4" && fields[0] != "TCP6") return invalid("PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
  if (fields.size() != 5) return invalid("PROXY v1 line needs two addresses and two ports");
  boost::system::error_code source_error, destination_error;
  const auto source = net::make_address(std::string(fields[1]), source_error);
  const auto destination = net::make_address(std::string(fields[2]), destination_error);
  const bool v4 = fields[0] == "TCP4";
  if (source_error || destination_error || source.is_v4() != v4 || destination.is_v4() != v4)
    return invalid("PROXY v1 addresses are not " + std::string(v4 ? "IPv4" : "IPv6"));
  const auto source_port = port_of(fields[3]);
  if (!source_port || !port_of(fields[4])) return invalid("PROXY v1 ports are not numbers from 0 to 65535");
  auto h = complete(end + 2);
  h.source = source;
  h.source_port = *source_port;
  return h;
}

proxy_header parse_v2(std::string_view bytes) {
  if (bytes.size() < v2_fixed_bytes) return {};
  const auto byte = [&bytes](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned version = byte(12) >> 4, command = byte(12) & 0xf;
  const unsigned family = byte(13) >> 4, transport = byte(13) & 0xf;
  const std::size_t length = (std::size_t{byte(14)} << 8) | byte(15);
  if (version != 2) return invalid("PROXY v2 header of version " + std::to_string(version));
  if (command > 1) return invalid("PROXY v2 command neither LOCAL nor PROXY");
  if (family > 3 || transport > 2) return invalid("PROXY v2 address family or transport unknown");
  if (v2_fixed_bytes + length > max_proxy_header_bytes) return invalid("PROXY v2 header longer than accepted");
  if (bytes.size() < v2_fixed_bytes + length) return {};
  auto h = complete(v2_fixed_bytes + length);
  // LOCAL: the proxy's own connection (a health check); addresses ignored.
  if (command == 0) return h;
  if (transport == 2) return invalid("PROXY v2 for a datagram transport on a TCP connection");
  const auto* block = reinterpret_cast<const unsigned char*>(bytes.data() + v2_fixed_bytes);
  if (family == 1) {  // AF_INET: source, destination, source port, destination port
    if (length < 12) return invalid("PROXY v2 IPv4 block shorter than 12 bytes");
    net::address_v4::bytes_type source{};
    std::copy(block, block + 4, source.begin());
    h.source = net::address_v4(source);
    h.source_port = static_cast<std::uint16_t>((block[8] << 8) | block[9]);
  } else if (family == 2) {  // AF_INET6
    if (length < 36) return invalid("PROXY v2 IPv6 block shorter than 36 bytes");
    net::address_v6::bytes_type source{};
    std::copy(block, block + 16, source.begin());
    h.source = net::address_v6(source);
    h.source_port = static_cast<std::uint16_t>((block[32] << 8) | block[33]);
  } else if (family == 3 && length < 216) {
    return invalid("PROXY v2 Unix block shorter than 216 bytes");
  }
  // AF_UNSPEC and AF_UNIX name no IP client: the peer counts.
  return h;
}

}  // namespace

proxy_header parse_proxy_header(std::string_view bytes) {
  if (bytes.empty()) return {};
  if (bytes[0] == 'P') {
    if (!agrees(bytes, v1_prefix)) return invalid("not a PROXY protocol header");
    return bytes.size() < v1_prefix.size() ? proxy_header{} : parse_v1(bytes);
  }
  if (!agrees(bytes, v2_signature)) return invalid("not a PROXY protocol header");
  return bytes.size() < v2_signature.size() ? proxy_header{} : parse_v2(bytes);
}

}  // namespace storygate::http
