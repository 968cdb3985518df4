// Serving on a real network without a proxy, and the HTTP and file checks
// that go with it: TLS by Mozilla's intermediate profile as sslscan sees it,
// --no-auth only on loopback, no world-writable credential, key or mapping
// file, 405 (not 413) for a body on another method, and mapping expressions
// checked as one statement.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include "clusters.h"
#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

class ExposureTest : public core_database_suite {
 protected:
  static std::map<std::string, std::string> env() {
    return {{"STORYGATE_DATABASE_URL", db_->url()}, {"STORYGATE_BEARER_TOKENS", test_token}};
  }
  static process_result refused(std::vector<std::string> extra, std::map<std::string, std::string> environment) {
    std::vector<std::string> args{"serve", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_storygate(args, environment, std::chrono::seconds(20));
  }
};

using certificate = test_certificate;

// sslscan against the running server: TLS 1.2 and 1.3 only; for 1.2 ECDHE
// with AEAD ciphers only (no static RSA, no CBC, no SHA-1), the server's
// choice first; the three TLS 1.3 suites.
TEST_F(ExposureTest, TlsFollowsMozillaIntermediateAsSslscanSeesIt) {
  certificate c;
  server srv({"serve", "--mapping", core_mapping_path(), "--tls-cert", c.cert, "--tls-key", c.key}, env());
  const auto started = std::chrono::steady_clock::now();
  const auto scan = run_command({"/usr/bin/sslscan", "--no-colour", "127.0.0.1:" + std::to_string(srv.port())},
                                std::chrono::seconds(120));
  figure("sslscan_ms", ms_between(started, std::chrono::steady_clock::now()), "ms");
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  for (const char* off : {"SSLv2     disabled", "SSLv3     disabled", "TLSv1.0   disabled", "TLSv1.1   disabled",
                          "TLSv1.2   enabled", "TLSv1.3   enabled"})
    EXPECT_NE(scan.output.find(off), std::string::npos) << off << "\n" << scan.output;

  const std::regex line(R"((Preferred|Accepted)\s+(TLSv1\.[23])\s+\d+ bits\s+(\S+))");
  std::set<std::string> tls12, tls13;
  std::string preferred12;
  std::istringstream lines(scan.output);
  for (std::string text; std::getline(lines, text);) {
    std::smatch m;
    if (!std::regex_search(text, m, line)) continue;
    figure_text("sslscan", text);
    (m[2] == "TLSv1.2" ? tls12 : tls13).insert(m[3]);
    if (m[1] == "Preferred" && m[2] == "TLSv1.2") preferred12 = m[3];
  }
  EXPECT_EQ(tls12, (std::set<std::string>{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                                          "ECDHE-RSA-CHACHA20-POLY1305"}))
      << scan.output;
  EXPECT_EQ(tls13, (std::set<std::string>{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                          "TLS_CHACHA20_POLY1305_SHA256"}));
  EXPECT_EQ(preferred12, "ECDHE-RSA-AES128-GCM-SHA256");  // the server's first, not the client's
}

// Without credentials, anyone who can connect reads every customer.
TEST_F(ExposureTest, NoAuthIsRefusedOffLoopback) {
  // The mapping does not exist: even if the check were missing, nothing
  // would listen on 0.0.0.0.
  const auto r = refused({"--mapping", "/nonexistent/m.yaml", "--listen", "0.0.0.0", "--plain-http", "--no-auth"},
                         {{"STORYGATE_DATABASE_URL", db_->url()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--no-auth is refused on 0.0.0.0"), std::string::npos) << r.output;
  // On loopback it serves, as before.
  server trial({"serve", "--mapping", core_mapping_path(), "--no-auth"}, {{"STORYGATE_DATABASE_URL", db_->url()}});
  EXPECT_EQ(http_get(trial.port(), "/api/v1/customer/244988").status, 200u);
}

// Writable by every user: any local user could choose the credentials,
// the TLS key, the client key or the SQL storygate runs.
TEST_F(ExposureTest, WorldWritableCredentialKeyAndMappingFilesAreRefused) {
  const auto tokens = write_temp_file("tokens", test_token + "\n", 0602);
  auto r = refused({"--mapping", core_mapping_path(), "--bearer-token-file", tokens}, {{"STORYGATE_DATABASE_URL", db_->url()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(tokens + ": writable by every user; run chmod o-w on it"), std::string::npos) << r.output;

  const auto mapping = write_temp_file("mapping.yaml", read_file(core_mapping_path()), 0646);
  r = refused({"--mapping", mapping}, env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(mapping + ": the mapping file is writable by every user"), std::string::npos) << r.output;

  certificate c;
  chmod(c.key.c_str(), 0602);
  r = refused({"--mapping", core_mapping_path(), "--tls-cert", c.cert, "--tls-key", c.key}, env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("the TLS key is writable by every user"), std::string::npos) << r.output;

  const auto key = write_temp_file("client.key", std::string(64, 'k'), 0602);
  r = refused({"--mapping", core_mapping_path(), "--client-key-file", key}, env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(key + ": writable by every user"), std::string::npos) << r.output;
  // A readable mapping (0644, as mappings/ holds them) is fine: it holds no secret.
  server srv({"serve", "--mapping", write_temp_file("mapping.yaml", read_file(core_mapping_path()), 0644)}, env());
  EXPECT_EQ(http_get(srv.port(), "/healthz").status, 200u);
}

TEST_F(ExposureTest, ShortClientKeyIsRefused) {
  auto environment = env();
  environment["STORYGATE_CLIENT_KEY"] = "too-short";
  const auto r = refused({"--mapping", core_mapping_path()}, environment);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("the client key must be at least 32 bytes"), std::string::npos) << r.output;
}

// The method is the client's mistake, not the body: 405 with Allow, and the
// connection closes since its unread body leaves it out of step. A body on
// GET is still 413; an unknown path is still 404.
TEST_F(ExposureTest, ABodyOnAnotherMethodGets405NotA413) {
  server srv({"serve", "--mapping", core_mapping_path()}, env());
  const auto post = send_raw_and_shutdown(
      srv.port(), "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + test_token +
                      "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  raw_response res;
  std::size_t consumed = 0;
  ASSERT_EQ(parse_raw_response(post.received, false, res, consumed), parse_result::complete) << post.received;
  EXPECT_EQ(res.status, 405u) << post.received;
  EXPECT_EQ(res.header("allow"), "GET, HEAD");
  EXPECT_NE(res.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(res.header("connection"), "close");
  EXPECT_EQ(consumed, post.received.size());  // one answer, nothing after it

  const auto unknown = send_raw_and_shutdown(srv.port(), "PUT /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(parse_raw_response(unknown.received, false, res, consumed), parse_result::complete);
  EXPECT_EQ(res.status, 404u);

  const auto get = send_raw_and_shutdown(srv.port(), "GET /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                                         test_token + "\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_EQ(parse_raw_response(get.received, false, res, consumed), parse_result::complete);
  EXPECT_EQ(res.status, 413u);
}

// The check runs the expression with the extended protocol, which takes one
// statement only: a second one smuggled in is refused at start-up.
TEST_F(ExposureTest, AMappingExpressionCannotRunASecondStatement) {
  const auto mapping = mapping_with(
      "  sneaky: { expression: \"1) FROM legacy.cust_master LIMIT 0; SELECT (1\", type: number }\n", "sneaky.yaml");
  const auto r = refused({"--mapping", mapping}, env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("field 'sneaky': the expression does not work: cannot insert multiple commands"),
            std::string::npos)
      << r.output;
  const auto check = run_storygate({"check", "--mapping", mapping}, env());
  EXPECT_EQ(check.exit_code, 1) << check.output;
}

}  // namespace
}  // namespace storygate::testing
