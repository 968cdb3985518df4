// Refusing abuse: the lockout after repeated failed authentication, the
// per-client rate limit, and gzip only for clients that ask for it.
#include <gtest/gtest.h>

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

class SecurityTest : public core_database_suite {
 protected:
  static std::unique_ptr<server> start(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"serve", "--mapping", core_mapping_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<server>(args, std::map<std::string, std::string>{
                                              {"STORYGATE_DATABASE_URL", db_->url()},
                                              {"STORYGATE_BEARER_TOKENS", test_token}});
  }
};

TEST_F(SecurityTest, RepeatedFailuresLockTheAddressOut) {
  auto srv = start({"--auth-max-failures", "3", "--auth-lockout-seconds", "2"});
  const std::map<std::string, std::string> wrong = {{"Authorization", "Bearer guess"}};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", wrong).status, 401u);
  // Locked out: even the right credential waits.
  const auto locked = http_get(srv->port(), "/api/v1/customer/244988", bearer());
  EXPECT_EQ(locked.status, 429u) << locked.body;
  EXPECT_FALSE(locked.header("retry-after").empty());
  EXPECT_NE(locked.body.find("Too many requests from this address"), std::string::npos);
  EXPECT_EQ(http_get(srv->port(), "/healthz").status, 200u);  // liveness is never throttled
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", bearer()).status, 200u);
}

TEST_F(SecurityTest, SuccessResetsTheFailureCount) {
  auto srv = start({"--auth-max-failures", "3"});
  const std::map<std::string, std::string> wrong = {{"Authorization", "Bearer guess"}};
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", wrong).status, 401u);
    EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", wrong).status, 401u);
    EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/244988", bearer()).status, 200u);
  }
}

// A connection remembers the credential it last had accepted. Requests that
// follow on the same keep-alive connection, with a wrong credential, a near
// miss of the right one or none, are still refused; the right one is
// accepted again after them.
TEST_F(SecurityTest, OnOneKeepAliveConnectionEveryRequestsCredentialCounts) {
  auto srv = start({"--auth-max-failures", "100"});
  std::string near_miss = test_token;
  near_miss.back() ^= 1;
  const std::vector<std::pair<std::string, unsigned>> sent = {
      {"Bearer " + test_token, 200}, {"Bearer " + near_miss, 401},        {"", 401},
      {"Bearer " + test_token, 200}, {"Bearer " + test_token + "x", 401}, {"Bearer " + test_token, 200}};
  std::string bytes;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    bytes += "GET /api/v1/customer/244988 HTTP/1.1\r\nHost: localhost\r\n";
    if (!sent[i].first.empty()) bytes += "Authorization: " + sent[i].first + "\r\n";
    bytes += i + 1 == sent.size() ? "Connection: close\r\n\r\n" : "\r\n";
  }
  const auto exchange = send_raw_and_shutdown(srv->port(), bytes);
  std::string_view rest = exchange.received;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    raw_response response;
    std::size_t used = 0;
    ASSERT_EQ(parse_raw_response(rest, false, response, used), parse_result::complete) << "response " << i;
    EXPECT_EQ(response.status, sent[i].second) << "request " << i << " with '" << sent[i].first << "'";
    rest.remove_prefix(used);
  }
  EXPECT_TRUE(rest.empty());
}

// One address may hold only its share of the connections: the next one is
// closed before a byte is read, and a place comes back when one of them
// closes. Without the cap, the same connections are all served.
TEST_F(SecurityTest, OneAddressHoldsOnlyItsShareOfConnections) {
  using std::chrono_literals::operator""ms;
  const std::string health = "GET /healthz HTTP/1.1\r\nHost: storygate\r\n\r\n";
  // Opens a connection and has it answer once, so the server surely holds it.
  const auto open_served = [&](unsigned short port) {
    auto c = std::make_unique<raw_connection>(port);
    EXPECT_TRUE(c->write(health, 2000ms));
    while (c->pending().find(R"({"status":"ok"})") == std::string::npos)
      if (!c->read_more(2000ms)) break;
    return c;
  };
  for (const bool capped : {true, false}) {
    auto srv = capped ? start({"--max-connections-per-address", "3"}) : start({});
    std::vector<std::unique_ptr<raw_connection>> held;
    for (int i = 0; i < 3; ++i) {
      held.push_back(open_served(srv->port()));
      ASSERT_NE(held.back()->pending().find(R"({"status":"ok"})"), std::string::npos) << i;
    }
    const auto fourth = send_raw_and_shutdown(srv->port(), health);
    if (!capped) {
      EXPECT_NE(fourth.received.find("200 OK"), std::string::npos) << fourth.received;
      continue;
    }
    EXPECT_TRUE(fourth.closed);
    EXPECT_EQ(fourth.received, "");
    EXPECT_TRUE(eventually([&] { return srv->logs().find("too many open from one address") != std::string::npos; }))
        << srv->logs();
    held.pop_back();
    EXPECT_TRUE(eventually([&] { return send_raw_and_shutdown(srv->port(), health).received.find("200 OK") !=
                                        std::string::npos; }));
  }
}

TEST_F(SecurityTest, RateLimitAnswers429WithRetryAfter) {
  auto srv = start({"--rate-limit", "5"});
  int ok = 0, limited = 0;
  for (int i = 0; i < 40; ++i) {
    const auto res = http_get(srv->port(), "/api/v1/customer/244988", bearer());
    if (res.status == 200) ++ok;
    if (res.status == 429) {
      ++limited;
      EXPECT_FALSE(res.header("retry-after").empty());
    }
  }
  EXPECT_GE(ok, 10);  // the burst
  EXPECT_GT(limited, 0);
  EXPECT_EQ(ok + limited, 40);
}

TEST_F(SecurityTest, LargeRepliesAreGzippedOnlyWhenAccepted) {
  auto srv = start({});
  const auto plain = http_get(srv->port(), "/api/v1/customers?limit=100", bearer());
  EXPECT_TRUE(plain.header("content-encoding").empty());
  auto headers = bearer();
  headers["Accept-Encoding"] = "br;q=1.0, gzip;q=0.8";
  const auto zipped = http_get(srv->port(), "/api/v1/customers?limit=100", headers);
  EXPECT_EQ(zipped.header("content-encoding"), "gzip");
  EXPECT_EQ(zipped.header("vary"), "Accept-Encoding");
  EXPECT_LT(zipped.body.size(), plain.body.size() / 3);
  EXPECT_EQ(gunzip(zipped.body), plain.body);
  headers["Accept-Encoding"] = "gzip;q=0";
  EXPECT_TRUE(http_get(srv->port(), "/api/v1/customers?limit=100", headers).header("content-encoding").empty());
  // Small replies are not worth it.
  headers["Accept-Encoding"] = "gzip";
  EXPECT_TRUE(http_get(srv->port(), "/api/v1/customer/1", headers).header("content-encoding").empty());
}

TEST_F(SecurityTest, NoCorsHeadersAndNoStore) {
  auto srv = start({});
  const auto res = http_get(srv->port(), "/api/v1/customer/244988",
                            {{"Authorization", "Bearer " + test_token}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(res.header("cache-control"), "no-store");
  EXPECT_TRUE(res.header("access-control-allow-origin").empty());
}

using certificate = test_certificate;

TEST_F(SecurityTest, ServesHttpsWithAModernProtocolFloor) {
  certificate c;
  auto srv = start({"--tls-cert", c.cert, "--tls-key", c.key});
  const auto res = https_get(srv->port(), "/api/v1/customer/244988", c.cert, bearer());
  EXPECT_EQ(res.status, 200u) << res.body;
  EXPECT_NE(res.body.find("\"first_name\":\"Amanda\""), std::string::npos);
  // TLS 1.1 and older are refused at the handshake.
  EXPECT_THROW(https_get(srv->port(), "/healthz", c.cert, {}, TLS1_1_VERSION), std::exception);
  // Plain HTTP to the TLS port gets no HTTP answer.
  EXPECT_EQ(send_raw(srv->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 200"), std::string::npos);
  EXPECT_TRUE(srv->running());
  EXPECT_EQ(https_get(srv->port(), "/healthz", c.cert).status, 200u);
}

TEST_F(SecurityTest, TlsKeyReadableByEveryoneIsRefused) {
  certificate c;
  chmod(c.key.c_str(), 0644);
  const auto r = run_storygate({"serve", "--mapping", core_mapping_path(), "--tls-cert",
                                c.cert, "--tls-key", c.key, "--port", "0"},
                               {{"STORYGATE_DATABASE_URL", db_->url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("the TLS key is readable by every user"), std::string::npos) << r.output;
}

TEST_F(SecurityTest, PlainHttpOffLoopbackMustBeAskedFor) {
  const auto r = run_storygate({"serve", "--mapping", core_mapping_path(), "--listen",
                                "0.0.0.0", "--port", "0"},
                               {{"STORYGATE_DATABASE_URL", db_->url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("refusing plain HTTP on 0.0.0.0"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace storygate::testing
