#include "config/settings.h"

#include <gtest/gtest.h>

#include <vector>

namespace storygate::config {
namespace {

settings parse(std::vector<const char*> args) {
  args.insert(args.begin(), {"storygate", "serve", "--mapping", "m.yaml"});
  return parse_command_line(static_cast<int>(args.size()), args.data()).values;
}

TEST(Settings, PerAddressCapIsOnWhenServingTlsOffLoopback) {
  EXPECT_EQ(parse({"--listen", "0.0.0.0", "--tls-cert", "c", "--tls-key", "k"}).max_connections_per_address,
            exposed_per_address_cap);
  EXPECT_EQ(parse({"--listen", "::", "--tls-cert", "c", "--tls-key", "k"}).max_connections_per_address,
            exposed_per_address_cap);
  // Behind a proxy (plain HTTP) or on loopback: off unless asked for.
  EXPECT_EQ(parse({"--listen", "0.0.0.0", "--plain-http"}).max_connections_per_address, 0u);
  EXPECT_EQ(parse({"--tls-cert", "c", "--tls-key", "k"}).max_connections_per_address, 0u);
  // Given explicitly, it is what was given, 0 included.
  EXPECT_EQ(parse({"--listen", "0.0.0.0", "--tls-cert", "c", "--tls-key", "k", "--max-connections-per-address", "0"})
                .max_connections_per_address,
            0u);
}

TEST(Settings, PublicPathPrefixIsCheckedAtStart) {
  EXPECT_EQ(parse({}).public_path_prefix, "");
  EXPECT_EQ(parse({"--public-path-prefix", "/storygate"}).public_path_prefix, "/storygate");
  EXPECT_EQ(parse({"--public-path-prefix", "/partners/acme-1/sync"}).public_path_prefix, "/partners/acme-1/sync");
  for (const char* bad : {"storygate", "/storygate/", "/a//b", "/../x", "/a b", "/a?b", "/%2e", "//evil.example"})
    EXPECT_THROW(parse({"--public-path-prefix", bad}), usage_error) << bad;
}

TEST(Settings, TrustedProxiesAreCheckedAtStart) {
  EXPECT_EQ(parse({"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1"}).trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  EXPECT_THROW(parse({"--trusted-proxy", "10.0.0.0/40"}), usage_error);
  EXPECT_THROW(parse({"--proxy-protocol"}), usage_error);  // without a trusted proxy
  EXPECT_THROW(parse({"--client-address-header", "x-real-ip"}), usage_error);
  EXPECT_TRUE(parse({"--proxy-protocol", "--trusted-proxy", "10.0.0.0/8"}).proxy_protocol);
}

}  // namespace
}  // namespace storygate::config
