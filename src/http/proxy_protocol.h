#pragma once
// The HAProxy PROXY protocol, versions 1 (text) and 2 (binary), as AWS NLB,
// HAProxy and Envoy send it to TCP backends: before any byte of its own, the
// proxy states whom it speaks for. Only the header is read here; the
// listener decides whom to believe (trusted peers only).
//
// Spec: HAProxy's doc/proxy-protocol.txt. Pure function; thread-safe.
#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace storygate::http {

// Longest header accepted: a v1 line is at most 107 bytes; v2 headers carry
// TLVs (AWS adds the VPC endpoint, others a few more) but never kilobytes.
inline constexpr std::size_t max_proxy_header_bytes = 16 + 2048;

struct proxy_header {
  enum class state { incomplete, invalid, complete };
  state status = state::incomplete;
  std::size_t size = 0;  // complete: bytes the header takes; the client's data follows
  // complete: the client's address and port, or nullopt when the proxy
  // speaks for itself (v2 LOCAL, such as a health check; v1 UNKNOWN; an
  // unspecified or Unix family): then the connection's own peer counts.
  std::optional<boost::asio::ip::address> source;
  std::uint16_t source_port = 0;
  std::string error;  // invalid: why, for the log
};

// Reads the header at the start of `bytes`. incomplete: what is there is a
// valid beginning, read more (at most max_proxy_header_bytes in all).
// invalid: not a PROXY header, or a broken one.
proxy_header parse_proxy_header(std::string_view bytes);

}  // namespace storygate::http
