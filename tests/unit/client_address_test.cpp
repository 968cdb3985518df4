#include "http/client_address.h"

#include <gtest/gtest.h>

namespace storygate::http {
namespace {

using boost::asio::ip::make_address;

const trusted_proxies proxies({"127.0.0.1", "10.0.0.0/8", "fd00::/8"});

address client(const std::string& peer, std::vector<std::string_view> values,
               forwarded_header header = forwarded_header::x_forwarded_for) {
  return client_address(make_address(peer), values, header, proxies);
}

TEST(ClientAddress, UntrustedPeerIsTheClientWhateverItForwards) {
  EXPECT_EQ(client("192.0.2.7", {"198.51.100.1"}), make_address("192.0.2.7"));
  EXPECT_EQ(client("192.0.2.7", {"for=198.51.100.1"}, forwarded_header::forwarded), make_address("192.0.2.7"));
}

TEST(ClientAddress, TrustedPeerNamesTheRightMostUntrustedHop) {
  // The client forged 198.51.100.9; nginx appended the real 192.0.2.7.
  EXPECT_EQ(client("127.0.0.1", {"198.51.100.9, 192.0.2.7"}), make_address("192.0.2.7"));
  // A chain of trusted proxies is skipped.
  EXPECT_EQ(client("127.0.0.1", {"198.51.100.9, 192.0.2.7, 10.1.2.3"}), make_address("192.0.2.7"));
  // Several header lines are one list, in order.
  EXPECT_EQ(client("127.0.0.1", {"198.51.100.9", "192.0.2.7"}), make_address("192.0.2.7"));
}

TEST(ClientAddress, TrustedPeerWithoutHeaderIsTheClient) {
  EXPECT_EQ(client("127.0.0.1", {}), make_address("127.0.0.1"));
  EXPECT_EQ(client("127.0.0.1", {""}), make_address("127.0.0.1"));
}

TEST(ClientAddress, UnreadableHopStopsTheWalkAtTheNearestTrustedHop) {
  EXPECT_EQ(client("127.0.0.1", {"192.0.2.7, garbage, 10.0.0.5"}), make_address("10.0.0.5"));
  EXPECT_EQ(client("127.0.0.1", {"192.0.2.7, unknown"}), make_address("127.0.0.1"));
  EXPECT_EQ(client("127.0.0.1", {std::string_view("192.0.2.7\0junk", 14)}), make_address("127.0.0.1"));
}

TEST(ClientAddress, EveryHopTrustedGivesTheLeftMost) {
  EXPECT_EQ(client("127.0.0.1", {"10.0.0.1, 10.0.0.2"}), make_address("10.0.0.1"));
}

TEST(ClientAddress, PortsAndBracketsAreReadAsProxiesWriteThem) {
  EXPECT_EQ(client("127.0.0.1", {"192.0.2.7:51234"}), make_address("192.0.2.7"));
  EXPECT_EQ(client("127.0.0.1", {"[2001:db8::1]:443"}), make_address("2001:db8::1"));
  EXPECT_EQ(client("127.0.0.1", {"2001:db8::1"}), make_address("2001:db8::1"));
  EXPECT_EQ(client("127.0.0.1", {"::ffff:192.0.2.7"}), make_address("192.0.2.7"));
}

TEST(ClientAddress, ForwardedForIsReadTheSameWay) {
  const auto f = forwarded_header::forwarded;
  EXPECT_EQ(client("127.0.0.1", {"for=198.51.100.9, for=192.0.2.7;proto=https;by=10.0.0.1"}, f),
            make_address("192.0.2.7"));
  EXPECT_EQ(client("127.0.0.1", {R"(For="[2001:db8:cafe::17]:4711")"}, f), make_address("2001:db8:cafe::17"));
  EXPECT_EQ(client("127.0.0.1", {"proto=https"}, f), make_address("127.0.0.1"));  // no for=
  EXPECT_EQ(client("127.0.0.1", {"for=_hidden"}, f), make_address("127.0.0.1"));
}

TEST(ClientAddress, OnlyTheConfiguredHeaderCounts) {
  // X-Forwarded-For text given as Forwarded has no for= and names nobody.
  EXPECT_EQ(client("127.0.0.1", {"192.0.2.7"}, forwarded_header::forwarded), make_address("127.0.0.1"));
}

TEST(TrustedProxies, ContainsByPrefixForBothFamilies) {
  EXPECT_TRUE(proxies.contains(make_address("10.255.0.1")));
  EXPECT_FALSE(proxies.contains(make_address("11.0.0.1")));
  EXPECT_TRUE(proxies.contains(make_address("::ffff:10.1.1.1")));  // IPv4-mapped
  EXPECT_TRUE(proxies.contains(make_address("fd12:3456::1")));
  EXPECT_FALSE(proxies.contains(make_address("fe80::1")));
  EXPECT_FALSE(proxies.contains(make_address("127.0.0.2")));
  EXPECT_TRUE(trusted_proxies({"0.0.0.0/0"}).contains(make_address("203.0.113.5")));
  EXPECT_FALSE(trusted_proxies().contains(make_address("127.0.0.1")));
}

TEST(TrustedProxies, RefusesWhatIsNotANetwork) {
  for (const std::string bad : {"10.0.0.0/33", "fd00::/129", "localhost", "10.0.0/8", "", "10.0.0.0/x"})
    EXPECT_THROW(trusted_proxies({bad}), std::invalid_argument) << bad;
}

TEST(LimitKey, IPv6CountsPerSlash64AndIPv4PerAddress) {
  EXPECT_EQ(limit_key(make_address("2001:db8:1:2::1")), limit_key(make_address("2001:db8:1:2:ffff::9")));
  EXPECT_NE(limit_key(make_address("2001:db8:1:2::1")), limit_key(make_address("2001:db8:1:3::1")));
  EXPECT_NE(limit_key(make_address("192.0.2.1")), limit_key(make_address("192.0.2.2")));
  EXPECT_EQ(limit_key(make_address("::ffff:192.0.2.1")), limit_key(make_address("192.0.2.1")));
}

}  // namespace
}  // namespace storygate::http
