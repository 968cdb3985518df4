// storygate talking to PostgreSQL over TLS, as it does with most managed
// databases (sslmode=require or verify-full in the URL). The pool drives
// libpq without blocking (db/pipeline_connection.h): the TLS handshake goes
// through PQconnectPoll, and every answer is read through OpenSSL's buffers
// as well as the socket's. Pages of several megabytes are walked over TLS and
// over plain TCP side by side, and must be the same, record for record.
//
// The test cluster has no certificate of its own: the suite gives it one
// (written into its data directory, so a cluster restarted with the setting
// left behind still starts) and turns ssl on with a reload, then off again.
// Labelled every-major: the handshake runs against every PostgreSQL major.
#include <gtest/gtest.h>
#include <pwd.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

// Rows added to core.sql's 121, each with about 3 kB of text, so that a
// 1,000-record page is megabytes: many TLS records and many socket reads.
constexpr int added_customers = 4000;
constexpr int page_limit = 1000;
const std::string reader = "storygate_test_reader";

std::string with_params(const std::string& url, const std::string& params) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + params;
}

std::string as_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> writer(out);
  value.Accept(writer);
  return out.GetString();
}

// Every record of a full walk from the first page, each as its JSON text,
// in the order served; empty with a failure recorded if a page is not 200.
std::vector<std::string> walk(unsigned short port) {
  std::vector<std::string> records;
  std::string target = "/api/v1/customers?last_updated=&start=0&limit=" + std::to_string(page_limit);
  for (int pages = 0; pages < 1000; ++pages) {
    const auto res = http_get(port, target, bearer());
    if (res.status != 200) {
      ADD_FAILURE() << target << ": " << res.status << " " << res.body.substr(0, 300);
      return {};
    }
    rapidjson::Document page;
    page.Parse(res.body.c_str(), res.body.size());
    if (page.HasParseError() || !page.HasMember("records")) {
      ADD_FAILURE() << target << ": not a page: " << res.body.substr(0, 300);
      return {};
    }
    for (const auto& r : page["records"].GetArray()) records.push_back(as_json(r));
    // The last page has no next (null), or is empty.
    if (page["records"].Empty() || !page.HasMember("next") || !page["next"].IsString()) return records;
    target = page["next"].GetString();
  }
  ADD_FAILURE() << "the walk did not end";
  return records;
}

class DatabaseTls : public core_database_suite {
 protected:
  static void SetUpTestSuite() {
    core_database_suite::SetUpTestSuite();
    db_->exec(
        "INSERT INTO legacy.cust_master (cust_no, fname, lname, addr1, cats, prefs, last_chg_ts) "
        "SELECT 500000 + n, 'Tls' || n, 'Last' || n, repeat('Łódź street ', 150) || n, "
        "       ARRAY['T' || (n % 7), repeat('c', 200)], jsonb_build_object('n', n, 'pad', repeat('p', 600)), "
        "       timestamp '2023-01-01' + n * interval '7 minutes' "
        "  FROM generate_series(1, " + std::to_string(added_customers) + ") AS n");
    certificate_ = std::make_unique<test_certificate>();
    const auto data = query(admin_url(), "SHOW data_directory");
    cert_file_ = data + "/storygate-test-server.crt";
    key_file_ = data + "/storygate-test-server.key";
    install_for_postgres(certificate_->cert, cert_file_);
    install_for_postgres(certificate_->key, key_file_);
    query(admin_url(), "ALTER SYSTEM SET ssl_cert_file = 'storygate-test-server.crt'");
    query(admin_url(), "ALTER SYSTEM SET ssl_key_file = 'storygate-test-server.key'");
    query(admin_url(), "ALTER SYSTEM SET ssl = on");
    query(admin_url(), "SELECT pg_reload_conf()");
  }
  static void TearDownTestSuite() {
    try {
      for (const char* setting : {"ssl", "ssl_cert_file", "ssl_key_file"})
        query(admin_url(), std::string("ALTER SYSTEM RESET ") + setting);
      query(admin_url(), "SELECT pg_reload_conf()");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "DatabaseTls: could not turn ssl off again: %s\n", e.what());
    }
    std::filesystem::remove(cert_file_);
    std::filesystem::remove(key_file_);
    certificate_.reset();
    core_database_suite::TearDownTestSuite();
  }

  // PostgreSQL reads its key only if the user it runs as owns it (0600).
  static void install_for_postgres(const std::string& from, const std::string& to) {
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::permissions(to, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    if (::geteuid() == 0) {
      const passwd* postgres = ::getpwnam("postgres");
      ASSERT_NE(postgres, nullptr) << "running as root, the test cluster runs as 'postgres', which is missing";
      ASSERT_EQ(::chown(to.c_str(), postgres->pw_uid, postgres->pw_gid), 0) << to;
    }
  }

  // A new connection's handshake is done with the settings of the reload.
  static bool tls_accepted(const std::string& url) {
    for (int tries = 0; tries < 100; ++tries) {
      try {
        if (query(with_params(url, "sslmode=require"), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") ==
            "t")
          return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // How many of `user`'s connections to the suite's database are storygate's
  // pool (not its health check), and how many of those use TLS.
  struct pool_sockets {
    int total = 0, encrypted = 0;
  };
  static pool_sockets sockets_of(const std::string& user) {
    const std::string from =
        " FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = '" + db_->name() +
        "' AND a.usename = '" + user + "' AND a.application_name = 'storygate'";
    return {std::stoi(query(admin_url(), "SELECT count(*)" + from)),
            std::stoi(query(admin_url(), "SELECT count(*)" + from + " AND s.ssl"))};
  }

  inline static std::unique_ptr<test_certificate> certificate_;
  inline static std::string cert_file_, key_file_;
};

TEST_F(DatabaseTls, AWalkOverTlsServesWhatAWalkOverPlainTcpServes) {
  ASSERT_TRUE(tls_accepted(db_->url())) << "the test cluster did not turn ssl on; its log says why";
  // verify-full: the certificate's chain and its name (127.0.0.1) are checked.
  server over_tls({"serve", "--mapping", core_mapping_path(), "--db-pool-size", "2"},
                  {{"STORYGATE_DATABASE_URL",
                    with_params(db_->url_as(reader), "sslmode=verify-full&sslrootcert=" + certificate_->cert)},
                   {"STORYGATE_BEARER_TOKENS", test_token}});
  server over_tcp({"serve", "--mapping", core_mapping_path(), "--db-pool-size", "2"},
                  {{"STORYGATE_DATABASE_URL", with_params(db_->url(), "sslmode=disable")},
                   {"STORYGATE_BEARER_TOKENS", test_token}});

  const auto by_tls = walk(over_tls.port());
  const auto by_tcp = walk(over_tcp.port());
  const auto expected = std::stoul(db_->query_value("SELECT count(*) FROM legacy.cust_master"));
  ASSERT_EQ(by_tcp.size(), expected) << "the walk over plain TCP, the reference, is incomplete";
  ASSERT_EQ(by_tls.size(), by_tcp.size());
  for (std::size_t i = 0; i < by_tls.size(); ++i)
    ASSERT_EQ(by_tls[i], by_tcp[i]) << "record " << i << " of the walk differs over TLS";
  EXPECT_EQ(std::set<std::string>(by_tls.begin(), by_tls.end()).size(), by_tls.size()) << "a record came twice";
  std::size_t bytes = 0;
  for (const auto& r : by_tls) bytes += r.size();
  EXPECT_GT(bytes, 8'000'000u) << "the walk was meant to carry megabytes a page";

  // Single records too, the large ones included.
  for (const char* id : {"244988", "1001", "500001", "504000"}) {
    const auto tls = http_get(over_tls.port(), std::string("/api/v1/customer/") + id, bearer());
    const auto tcp = http_get(over_tcp.port(), std::string("/api/v1/customer/") + id, bearer());
    EXPECT_EQ(tls.status, 200u) << id << ": " << tls.body.substr(0, 300);
    EXPECT_EQ(tls.body, tcp.body) << id;
  }

  const auto tls_pool = sockets_of(reader);
  EXPECT_GE(tls_pool.total, 1);
  EXPECT_EQ(tls_pool.encrypted, tls_pool.total) << "a pooled connection of the verify-full server is not encrypted";
  EXPECT_EQ(sockets_of("postgres").encrypted, 0) << "sslmode=disable was not honoured";
}

// A certificate that does not verify is refused at start-up, with libpq's
// reason and without the URL's password.
TEST_F(DatabaseTls, ACertificateThatDoesNotVerifyIsRefusedAtStartUp) {
  ASSERT_TRUE(tls_accepted(db_->url())) << "the test cluster did not turn ssl on; its log says why";
  const test_certificate stranger;  // another self-signed certificate: not the server's issuer
  auto url = with_params(db_->url_as(reader), "sslmode=verify-full&sslrootcert=" + stranger.cert);
  url.insert(url.find('@'), ":tls-test-secret");
  const auto r = run_storygate({"serve", "--mapping", core_mapping_path(), "--port", "0"},
                               {{"STORYGATE_DATABASE_URL", url}, {"STORYGATE_BEARER_TOKENS", test_token}},
                               std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("certificate verify failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("tls-test-secret"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace storygate::testing
