// libFuzzer target: the first bytes of a connection from a trusted proxy,
// through http::parse_proxy_header (PROXY protocol v1 and v2).
//
// Invariants checked:
//  - a complete header is no longer than the input, nor than
//    max_proxy_header_bytes, and a v1 header no longer than 107 bytes;
//  - it is self-delimiting: its own bytes alone parse to the same result,
//    and every shorter prefix of them is incomplete (never invalid, never a
//    different complete header);
//  - incomplete only while fewer than max_proxy_header_bytes were given;
//  - invalid always says why.
// Built only with -DSTORYGATE_FUZZ=ON (tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/proxy_protocol.h"

namespace sg = storygate;
using state = sg::http::proxy_header::state;

namespace {

std::string_view current_input;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "proxy_protocol_fuzz: %s\n  input (%zu bytes)\n", what, current_input.size());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  current_input = std::string_view(reinterpret_cast<const char*>(data), size);
  const auto header = sg::http::parse_proxy_header(current_input);
  switch (header.status) {
    case state::incomplete:
      if (size >= sg::http::max_proxy_header_bytes) fail("incomplete past the longest header");
      break;
    case state::invalid:
      if (header.error.empty()) fail("invalid without a reason");
      break;
    case state::complete: {
      if (header.size == 0 || header.size > size) fail("complete header longer than the input");
      if (header.size > sg::http::max_proxy_header_bytes) fail("complete header longer than accepted");
      if (current_input[0] == 'P' && header.size > 107) fail("v1 header longer than 107 bytes");
      const auto own = current_input.substr(0, header.size);
      const auto again = sg::http::parse_proxy_header(own);
      if (again.status != state::complete || again.size != header.size || again.source != header.source ||
          again.source_port != header.source_port)
        fail("a header's own bytes parse differently");
      for (std::size_t n = 0; n < own.size(); ++n)
        if (sg::http::parse_proxy_header(own.substr(0, n)).status != state::incomplete)
          fail("a prefix of a complete header is not incomplete");
      break;
    }
  }
  return 0;
}
