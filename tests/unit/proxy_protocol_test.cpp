#include "http/proxy_protocol.h"

#include <gtest/gtest.h>

namespace storygate::http {
namespace {

using boost::asio::ip::make_address;
using state = proxy_header::state;

const std::string v2_signature("\r\n\r\n\0\r\nQUIT\n", 12);

std::string v2(unsigned char ver_cmd, unsigned char family, const std::string& block) {
  std::string h = v2_signature;
  h += static_cast<char>(ver_cmd);
  h += static_cast<char>(family);
  h += static_cast<char>(block.size() >> 8);
  h += static_cast<char>(block.size() & 0xff);
  return h + block;
}

std::string v4_block() {
  // 192.0.2.7:51234 -> 10.0.0.1:8080
  return std::string("\xc0\x00\x02\x07\x0a\x00\x00\x01\xc8\x22\x1f\x90", 12);
}

TEST(ProxyProtocol, ReadsVersion1ForBothFamilies) {
  const std::string line = "PROXY TCP4 192.0.2.7 10.0.0.1 51234 8080\r\n";
  const auto h = parse_proxy_header(line + "GET / HTTP/1.1\r\n");
  ASSERT_EQ(h.status, state::complete) << h.error;
  EXPECT_EQ(h.size, line.size());
  EXPECT_EQ(h.source, make_address("192.0.2.7"));
  EXPECT_EQ(h.source_port, 51234);
  const auto h6 = parse_proxy_header("PROXY TCP6 2001:db8::7 2001:db8::1 1 443\r\n");
  ASSERT_EQ(h6.status, state::complete) << h6.error;
  EXPECT_EQ(h6.source, make_address("2001:db8::7"));
}

TEST(ProxyProtocol, Version1UnknownNamesNoClient) {
  const auto h = parse_proxy_header("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
  ASSERT_EQ(h.status, state::complete);
  EXPECT_FALSE(h.source);
}

TEST(ProxyProtocol, PartialHeadersAskForMore) {
  const std::string line = "PROXY TCP4 192.0.2.7 10.0.0.1 51234 8080\r\n";
  for (std::size_t n = 0; n < line.size(); ++n)
    EXPECT_EQ(parse_proxy_header(line.substr(0, n)).status, state::incomplete) << n;
  const auto full = v2(0x21, 0x11, v4_block());
  for (std::size_t n = 0; n < full.size(); ++n)
    EXPECT_EQ(parse_proxy_header(full.substr(0, n)).status, state::incomplete) << n;
}

TEST(ProxyProtocol, RefusesBrokenVersion1) {
  for (const std::string bad : {
           "GET / HTTP/1.1\r\n", "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
           "PROXY TCP4 2001:db8::1 1.2.3.4 1 2\r\n", "PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n",
           "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
           "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n",
           "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", "PROXY \r\n", "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n"})
    EXPECT_EQ(parse_proxy_header(bad).status, state::invalid) << bad;
  EXPECT_EQ(parse_proxy_header("PROXY UNKNOWN " + std::string(200, 'x')).status, state::invalid);
  // Found by the fuzzer: a NUL cut the address short, and the garbage after it was ignored.
  EXPECT_EQ(parse_proxy_header(std::string("PROXY TCP4 192.0.2.7\0junk 10.0.0.1 1 2\r\n", 39)).status, state::invalid);
  EXPECT_EQ(parse_proxy_header(std::string("PROXY TCP4 192.0.2.7\0", 21)).status, state::invalid);
}

TEST(ProxyProtocol, ReadsVersion2ProxyForBothFamilies) {
  const auto header = v2(0x21, 0x11, v4_block());
  const auto h = parse_proxy_header(header + "\x16\x03\x01");  // a ClientHello follows
  ASSERT_EQ(h.status, state::complete) << h.error;
  EXPECT_EQ(h.size, 28u);
  EXPECT_EQ(h.source, make_address("192.0.2.7"));
  EXPECT_EQ(h.source_port, 51234);

  std::string block6(36, '\0');
  block6[0] = '\x20', block6[1] = '\x01', block6[2] = '\x0d', block6[3] = '\xb8', block6[15] = '\x07';
  block6[32] = '\x01', block6[33] = '\xbb';
  const auto h6 = parse_proxy_header(v2(0x21, 0x21, block6));
  ASSERT_EQ(h6.status, state::complete) << h6.error;
  EXPECT_EQ(h6.source, make_address("2001:db8::7"));
  EXPECT_EQ(h6.source_port, 443);
}

TEST(ProxyProtocol, Version2SkipsTlvsAndLocalNamesNoClient) {
  const auto with_tlv = v2(0x21, 0x11, v4_block() + std::string("\x04\x00\x03vpc", 6));
  const auto h = parse_proxy_header(with_tlv);
  ASSERT_EQ(h.status, state::complete) << h.error;
  EXPECT_EQ(h.size, with_tlv.size());
  EXPECT_EQ(h.source, make_address("192.0.2.7"));

  const auto local = parse_proxy_header(v2(0x20, 0x00, ""));
  ASSERT_EQ(local.status, state::complete);
  EXPECT_FALSE(local.source);
  const auto unspec = parse_proxy_header(v2(0x21, 0x00, ""));
  ASSERT_EQ(unspec.status, state::complete);
  EXPECT_FALSE(unspec.source);
}

TEST(ProxyProtocol, RefusesBrokenVersion2) {
  EXPECT_EQ(parse_proxy_header(v2(0x11, 0x11, v4_block())).status, state::invalid);  // version 1 in v2 form
  EXPECT_EQ(parse_proxy_header(v2(0x22, 0x11, v4_block())).status, state::invalid);  // command 2
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x41, v4_block())).status, state::invalid);  // family 4
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x12, v4_block())).status, state::invalid);  // datagram
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, v4_block().substr(0, 8))).status, state::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x21, std::string(20, '\0'))).status, state::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, std::string(4000, '\0'))).status, state::invalid);  // too long
  std::string wrong_signature = v2(0x21, 0x11, v4_block());
  wrong_signature[7] = 'q';
  EXPECT_EQ(parse_proxy_header(wrong_signature).status, state::invalid);
  EXPECT_EQ(parse_proxy_header(std::string("\r\n\r\nGET", 7)).status, state::invalid);
}

}  // namespace
}  // namespace storygate::http
