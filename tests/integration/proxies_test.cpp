// storygate behind real proxies, with clients on different loopback
// addresses (127.0.0.2, 127.0.0.3: bound before connecting): nginx writing
// X-Forwarded-For, HAProxy sending the PROXY protocol (v2 as AWS NLB does,
// and v1). The client that fails is locked out; another client through the
// same proxy is not, even when the failing one forges its address.
//
// STORYGATE_PROXIES_TEST_OVERRIDES="--option value ..." replaces storygate's
// options (e.g. "--trusted-proxy 192.0.2.1" to trust nobody here), to watch
// these tests fail with a protection switched off.
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <array>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "clusters.h"
#include "core_database.h"
#include "harness.h"
#include "proxies.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

const std::string client_a = "127.0.0.2";
const std::string client_b = "127.0.0.3";
const std::string customer = "/api/v1/customer/244988";

std::map<std::string, std::string> wrong_token() { return {{"Authorization", "Bearer guess"}}; }

std::map<std::string, std::string> plus(std::map<std::string, std::string> headers, const std::string& name,
                                        const std::string& value) {
  headers[name] = value;
  return headers;
}

unsigned get_from(const std::string& source, unsigned short port, const std::string& target,
                  const std::map<std::string, std::string>& headers) {
  return http_request_from(source, port, "GET", target, headers).status;
}

bool logged(const server& srv, const std::string& text) {
  return eventually([&] { return srv.logs().find(text) != std::string::npos; }, std::chrono::seconds(5));
}

class ProxiesTest : public core_database_suite {
 protected:
  static std::unique_ptr<server> start(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"serve", "--mapping", core_mapping_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<server>(with_overrides("STORYGATE_PROXIES_TEST_OVERRIDES", args),
                                    std::map<std::string, std::string>{{"STORYGATE_DATABASE_URL", db_->url()},
                                                                       {"STORYGATE_BEARER_TOKENS", test_token}});
  }
};

// The failing client forges the other's address in X-Forwarded-For; nginx
// appends the real one, and only that one is believed.
TEST_F(ProxiesTest, BehindNginxOnlyTheFailingClientIsLockedOut) {
  auto srv = start({"--trusted-proxy", "127.0.0.1", "--auth-max-failures", "3"});
  nginx_proxy nginx(free_port(26340, 10), srv->port());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(get_from(client_a, nginx.port(), customer, plus(wrong_token(), "X-Forwarded-For", client_b)), 401u);
  // Locked out, even with the valid credential.
  EXPECT_EQ(get_from(client_a, nginx.port(), customer, bearer()), 429u);
  // The other client, through the same proxy, is served, forging or not.
  EXPECT_EQ(get_from(client_b, nginx.port(), customer, bearer()), 200u);
  EXPECT_EQ(get_from(client_b, nginx.port(), customer, plus(bearer(), "X-Forwarded-For", client_a)), 200u);
  // The access log names the clients, not the proxy (the log is read as it comes).
  EXPECT_TRUE(logged(*srv, R"("client":"127.0.0.2")")) << srv->logs();
  EXPECT_TRUE(logged(*srv, R"("client":"127.0.0.3")"));
  EXPECT_EQ(srv->logs().find(R"("client":"127.0.0.1")"), std::string::npos);
}

// A proxy keeps its connection to storygate open and sends one client's
// request after another's on it (nginx's upstream keepalive, HAProxy's
// connection reuse): each request is logged with its own client, and one
// without X-Forwarded-For with the proxy itself.
TEST_F(ProxiesTest, OnOneProxyConnectionEachRequestIsLoggedWithItsOwnClient) {
  auto srv = start({"--trusted-proxy", "127.0.0.1"});
  raw_connection proxy(srv->port(), "127.0.0.1");
  // request id, X-Forwarded-For, the client to be logged
  const std::vector<std::array<std::string, 3>> requests{{"reuse-1", client_a, client_a},
                                                         {"reuse-2", client_a, client_a},
                                                         {"reuse-3", client_b, client_b},
                                                         {"reuse-4", "", "127.0.0.1"},
                                                         {"reuse-5", client_a, client_a}};
  std::string bytes;
  for (const auto& [id, forwarded, client] : requests) {
    bytes += "GET " + customer + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + test_token +
             "\r\nX-Request-Id: " + id + "\r\n";
    if (!forwarded.empty()) bytes += "X-Forwarded-For: " + forwarded + "\r\n";
    bytes += "\r\n";
  }
  ASSERT_TRUE(proxy.write(bytes, std::chrono::milliseconds(3000)));
  for (const auto& [id, forwarded, client] : requests)
    EXPECT_TRUE(logged(*srv, R"("request_id":")" + id + R"(","client":")" + client + '"'))
        << id << " not logged with client " << client << ":\n" << srv->logs();
}

TEST_F(ProxiesTest, BehindHaproxyWithTheProxyProtocolOnlyTheFailingClientIsLockedOut) {
  auto srv = start({"--trusted-proxy", "127.0.0.1", "--proxy-protocol", "--auth-max-failures", "3"});
  haproxy_proxy haproxy(free_port(26350, 10), free_port(26360, 10), srv->port());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(get_from(client_a, haproxy.v2_port(), customer, plus(wrong_token(), "X-Forwarded-For", client_b)),
              401u);
  EXPECT_EQ(get_from(client_a, haproxy.v2_port(), customer, bearer()), 429u);
  EXPECT_EQ(get_from(client_a, haproxy.v1_port(), customer, bearer()), 429u);  // the same client by v1
  EXPECT_EQ(get_from(client_b, haproxy.v2_port(), customer, plus(bearer(), "X-Forwarded-For", client_a)), 200u);
  EXPECT_EQ(get_from(client_b, haproxy.v1_port(), customer, bearer()), 200u);
  EXPECT_TRUE(logged(*srv, R"("client":"127.0.0.3")")) << srv->logs();
}

// TLS passed through HAProxy: the PROXY header comes first, the ClientHello
// after it (possibly in the same read); storygate hands what it read past the
// header to the TLS handshake.
TEST_F(ProxiesTest, TlsWorksBehindTheProxyProtocol) {
  test_certificate c;
  auto srv = start({"--trusted-proxy", "127.0.0.1", "--proxy-protocol", "--tls-cert", c.cert, "--tls-key", c.key});
  haproxy_proxy haproxy(free_port(26350, 10), free_port(26360, 10), srv->port());
  for (const auto port : {haproxy.v2_port(), haproxy.v1_port()}) {
    const auto res = https_get(port, "/api/v1/customer/244988", c.cert, bearer());
    EXPECT_EQ(res.status, 200u) << res.body;
  }
}

// True when a keep-alive GET /healthz on `c` is answered 200.
bool healthz_served(raw_connection& c) {
  if (!c.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::milliseconds(3000))) return false;
  for (;;) {
    raw_response response;
    std::size_t consumed = 0;
    const auto parsed = parse_raw_response(c.pending(), false, response, consumed);
    if (parsed == parse_result::complete) {
      c.pending().erase(0, consumed);
      return response.status == 200;
    }
    if (parsed == parse_result::malformed || !c.read_more(std::chrono::milliseconds(3000))) return false;
  }
}

// With the PROXY protocol the per-address cap counts the client the header
// names: one client through HAProxy holds its share, another still gets in.
TEST_F(ProxiesTest, ConnectionCapCountsTheClientTheProxyProtocolNames) {
  auto srv = start({"--trusted-proxy", "127.0.0.1", "--proxy-protocol", "--max-connections-per-address", "2"});
  haproxy_proxy haproxy(free_port(26350, 10), free_port(26360, 10), srv->port());
  raw_connection first(haproxy.v2_port(), client_a), second(haproxy.v2_port(), client_a);
  ASSERT_TRUE(healthz_served(first));
  ASSERT_TRUE(healthz_served(second));
  raw_connection third(haproxy.v2_port(), client_a);
  EXPECT_FALSE(healthz_served(third));
  raw_connection other(haproxy.v2_port(), client_b);
  EXPECT_TRUE(healthz_served(other));
  EXPECT_TRUE(healthz_served(first));  // the admitted ones are still served
}

// Without a valid header a trusted peer is not served (it would count every
// client as itself); an untrusted peer's header is refused.
TEST_F(ProxiesTest, TheProxyProtocolIsRequiredFromTrustedPeersAndRefusedFromOthers) {
  auto srv = start({"--trusted-proxy", "127.0.0.1", "--proxy-protocol"});
  const auto plain = send_raw_and_shutdown(srv->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(plain.closed);
  EXPECT_EQ(plain.received, "");

  raw_connection forged(srv->port(), client_a);
  ASSERT_TRUE(forged.write("PROXY TCP4 198.51.100.7 127.0.0.1 40000 80\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                           std::chrono::milliseconds(3000)));
  while (forged.read_more(std::chrono::milliseconds(3000))) {
  }
  EXPECT_EQ(forged.pending().find("HTTP/1.1 200"), std::string::npos) << forged.pending();
  EXPECT_TRUE(logged(*srv, "no valid PROXY protocol header from a trusted proxy")) << srv->logs();
  // Clients that connect directly are served as before.
  EXPECT_EQ(get_from(client_a, srv->port(), "/healthz", {}), 200u);
}

// A trusted peer's X-Forwarded-For decides who the client is for /metrics on
// loopback as well; an untrusted peer's is ignored. Forwarded: for= likewise
// when configured, and then only it.
TEST_F(ProxiesTest, MetricsOnLoopbackMeansTheClientNotTheProxy) {
  auto srv = start({"--trusted-proxy", "127.0.0.1", "--metrics-access", "loopback"});
  const std::map<std::string, std::string> remote = {{"X-Forwarded-For", "203.0.113.5"}};
  EXPECT_EQ(get_from("127.0.0.1", srv->port(), "/metrics", remote), 401u);
  EXPECT_EQ(get_from("127.0.0.1", srv->port(), "/metrics", {}), 200u);
  EXPECT_EQ(get_from(client_a, srv->port(), "/metrics", remote), 200u);  // untrusted: header ignored

  auto rfc = start({"--trusted-proxy", "127.0.0.1", "--metrics-access", "loopback", "--client-address-header",
                    "forwarded"});
  EXPECT_EQ(get_from("127.0.0.1", rfc->port(), "/metrics", {{"Forwarded", "for=203.0.113.5;proto=https"}}), 401u);
  EXPECT_EQ(get_from("127.0.0.1", rfc->port(), "/metrics", remote), 200u);  // not the configured header
}

// IPv6 clients are one client per /64: a new address in the same /64 does
// not escape a lockout, the next /64 is someone else.
TEST_F(ProxiesTest, IPv6ClientsAreCountedPerSlash64) {
  auto srv = start({"--trusted-proxy", "127.0.0.1", "--auth-max-failures", "3"});
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(get_from("127.0.0.1", srv->port(), customer,
                       plus(wrong_token(), "X-Forwarded-For", "2001:db8:1:2::" + std::to_string(i))),
              401u);
  EXPECT_EQ(get_from("127.0.0.1", srv->port(), customer, plus(bearer(), "X-Forwarded-For", "2001:db8:1:2:ffff::9")),
            429u);
  EXPECT_EQ(get_from("127.0.0.1", srv->port(), customer, plus(bearer(), "X-Forwarded-For", "2001:db8:1:3::1")), 200u);
}

// --rate-limit counts each client behind the proxy, not the proxy.
TEST_F(ProxiesTest, RateLimitCountsEachClientBehindATrustedProxy) {
  auto srv = start({"--trusted-proxy", "127.0.0.1", "--rate-limit", "1"});
  const auto from = [](const std::string& client) { return plus(bearer(), "X-Forwarded-For", client); };
  unsigned refused = 0;
  for (int i = 0; i < 4; ++i) refused += get_from("127.0.0.1", srv->port(), customer, from("203.0.113.5")) == 429u;
  EXPECT_GE(refused, 1u);  // a burst of 2 at 1 a second
  EXPECT_EQ(get_from("127.0.0.1", srv->port(), customer, from("203.0.113.6")), 200u);
}

// Without trusted proxies a forged X-Forwarded-For changes nothing.
TEST_F(ProxiesTest, ForgedForwardingHeadersFromUntrustedClientsChangeNothing) {
  auto srv = start({"--auth-max-failures", "3"});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(get_from(client_a, srv->port(), customer,
                       plus(plus(wrong_token(), "X-Forwarded-For", client_b), "Forwarded", "for=" + client_b)),
              401u);
  EXPECT_EQ(get_from(client_a, srv->port(), customer, plus(bearer(), "X-Forwarded-For", client_b)), 429u);
  EXPECT_EQ(get_from(client_b, srv->port(), customer, bearer()), 200u);
}

// A site that serves storygate under a path of its own (nginx takes
// "/storygate" off on the way in) gets `next` links under that path with
// --public-path-prefix: a client that follows them from the first page
// walks the whole sync through the proxy. PostgreSQL's own answer says
// which customers that is.
TEST_F(ProxiesTest, NextLinksLeadThroughAProxyThatServesStorygateUnderAPath) {
  auto srv = start({"--public-path-prefix", "/storygate"});
  nginx_proxy nginx(free_port(26350, 10), srv->port(), "/storygate");
  std::set<std::string> expected;
  {
    pqxx::connection c(db_->url());
    pqxx::nontransaction tx(c);
    for (const auto& row :
         tx.exec("SELECT cust_no::text FROM legacy.cust_master WHERE last_chg_ts >= '2022-01-01' AND cust_no IS NOT NULL"))
      expected.insert(row[0].as<std::string>());
  }
  ASSERT_GT(expected.size(), 40u);
  std::set<std::string> walked;
  std::string target = "/storygate/api/v1/customers?last_updated=2022-01-01T00:00:00Z&limit=17";
  for (int pages = 0; pages < 100; ++pages) {
    const auto res = http_get(nginx.port(), target, bearer());
    ASSERT_EQ(res.status, 200u) << target << ": " << res.body;
    rapidjson::Document page;
    page.Parse(res.body.c_str(), res.body.size());
    ASSERT_TRUE(page.IsObject() && page["records"].IsArray()) << res.body;
    for (const auto& r : page["records"].GetArray()) walked.insert(std::to_string(r["id"].GetInt()));
    if (!page.HasMember("next")) break;
    target = page["next"].GetString();
    EXPECT_EQ(res.headers.at("link"), "<" + target + ">; rel=\"next\"");
  }
  EXPECT_EQ(walked, expected);
}

}  // namespace
}  // namespace storygate::testing
