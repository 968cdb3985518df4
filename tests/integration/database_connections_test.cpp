// The ways partners point storygate at their database, beyond the trust
// authentication the rest of the suite uses: a password the server checks by
// SCRAM (the default since PostgreSQL 14) or md5 (older servers), in the URL
// with characters that must be percent-encoded or in a password file; a Unix
// socket directory (storygate on the database's own host); and a list of
// hosts that libpq tries in turn. The pool connects without blocking
// (PQconnectPoll), so each of these is a different conversation for it.
//
// The suite adds two password-checked roles and their pg_hba.conf lines to
// the test cluster, and takes them away again. Labelled every-major.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "clusters.h"
#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

// Every character a URL must percent-encode in a password, and a space.
const std::string password = "p@ss:w/rd?#%x y";
const std::string password_in_url = "p%40ss%3Aw%2Frd%3F%23%25x%20y";
const std::string hba_marker = "# storygate DatabaseConnections test\n";

struct password_role {
  std::string name, method;  // method: pg_hba.conf's and password_encryption's
};
const std::vector<password_role> password_roles{{"storygate_test_scram", "scram-sha-256"},
                                                {"storygate_test_md5", "md5"}};

class DatabaseConnections : public core_database_suite {
 protected:
  static void SetUpTestSuite() {
    core_database_suite::SetUpTestSuite();
    for (const auto& role : password_roles) {
      drop_role(role.name);
      query(admin_url(), "SET password_encryption = '" + role.method + "'; CREATE ROLE " + role.name +
                             " LOGIN PASSWORD '" + password + "' IN ROLE storygate_test_reader");
    }
    hba_file_ = query(admin_url(), "SHOW hba_file");
    hba_before_ = read_file(hba_file_);
    // First lines win: these roles must give their password over TCP.
    std::string lines = hba_marker;
    for (const auto& role : password_roles)
      lines += "host all " + role.name + " 127.0.0.1/32 " + role.method + "\n";
    write_keeping_owner(hba_file_, lines + hba_before_);
    query(admin_url(), "SELECT pg_reload_conf()");
  }
  static void TearDownTestSuite() {
    if (!hba_file_.empty()) {
      write_keeping_owner(hba_file_, hba_before_);
      query(admin_url(), "SELECT pg_reload_conf()");
    }
    for (const auto& role : password_roles) drop_role(role.name);
    core_database_suite::TearDownTestSuite();
  }

  static void drop_role(const std::string& name) {
    // Roles are the cluster's: one left by a run that was killed goes too.
    query(admin_url(), "DROP ROLE IF EXISTS " + name);
  }
  // Overwritten in place, so the file keeps its owner (the cluster's user).
  static void write_keeping_owner(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  }

  // A URL of the suite's database on the test cluster, as `userinfo`.
  static std::string tcp_url(const std::string& userinfo) {
    return "postgresql://" + userinfo + "@127.0.0.1:" + std::to_string(port_of(admin_url())) + "/" + db_->name();
  }

  // A server over `url` answers a record and a page from the database.
  static void expect_served(const std::string& url, const std::map<std::string, std::string>& extra_env = {}) {
    std::map<std::string, std::string> env{{"STORYGATE_DATABASE_URL", url}, {"STORYGATE_BEARER_TOKENS", test_token}};
    env.insert(extra_env.begin(), extra_env.end());
    server srv({"serve", "--mapping", core_mapping_path(), "--db-pool-size", "2"}, env);
    const auto record = http_get(srv.port(), "/api/v1/customer/244988", bearer());
    EXPECT_EQ(record.status, 200u) << record.body;
    EXPECT_NE(record.body.find("\"Amanda\""), std::string::npos) << record.body;
    const auto page = http_get(srv.port(), "/api/v1/customers?limit=5", bearer());
    EXPECT_EQ(page.status, 200u) << page.body;
    EXPECT_NE(page.body.find("\"count\":121"), std::string::npos) << page.body.substr(0, 300);
  }

  // storygate's pooled connections to the suite's database, as
  // "user client_addr" lines (client_addr empty for a Unix socket).
  static std::string pool_backends() {
    return query(admin_url(), "SELECT string_agg(usename || ' ' || coalesce(host(client_addr), ''), ',') "
                              "FROM pg_stat_activity WHERE datname = '" + db_->name() +
                                  "' AND application_name = 'storygate'");
  }

  inline static std::string hba_file_, hba_before_;
};

TEST_F(DatabaseConnections, APasswordInTheUrlIsGivenAsTheServerAsks) {
  for (const auto& role : password_roles) {
    SCOPED_TRACE(role.method);
    const auto url = tcp_url(role.name + ":" + password_in_url);
    expect_served(url);
    // The DBA's tools connect the blocking way (libpqxx): the same URL works.
    const auto check = run_storygate({"check", "--mapping", core_mapping_path()}, {{"STORYGATE_DATABASE_URL", url}});
    EXPECT_EQ(check.exit_code, 0) << check.output;
  }
}

TEST_F(DatabaseConnections, AWrongPasswordIsRefusedAtStartUpWithoutShowingIt) {
  for (const auto& role : password_roles) {
    SCOPED_TRACE(role.method);
    const auto r = run_storygate({"serve", "--mapping", core_mapping_path(), "--port", "0"},
                                 {{"STORYGATE_DATABASE_URL", tcp_url(role.name + ":not-" + password_in_url)},
                                  {"STORYGATE_BEARER_TOKENS", test_token}},
                                 std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("password authentication failed"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("not-p"), std::string::npos) << "the password was shown: " << r.output;
  }
}

TEST_F(DatabaseConnections, APasswordFileIsReadWhenTheUrlHasNone) {
  // host:port:database:user:password, with ':' and '\' escaped.
  std::string escaped;
  for (char c : password) escaped += (c == ':' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  const auto passfile = write_temp_file("pgpass", "127.0.0.1:" + std::to_string(port_of(admin_url())) + ":" +
                                                      db_->name() + ":storygate_test_scram:" + escaped + "\n");
  ::chmod(passfile.c_str(), 0600);  // libpq ignores a password file others can read
  expect_served(tcp_url("storygate_test_scram"), {{"PGPASSFILE", passfile}});
}

TEST_F(DatabaseConnections, AUnixSocketDirectoryAsTheHostIsUsed) {
  auto directory = query(admin_url(), "SHOW unix_socket_directories");
  directory = directory.substr(0, directory.find(','));
  ASSERT_FALSE(directory.empty()) << "the test cluster has no Unix socket";
  const auto url = "postgresql://storygate_test_reader@/" + db_->name() + "?host=" + directory +
                   "&port=" + std::to_string(port_of(admin_url()));
  std::map<std::string, std::string> env{{"STORYGATE_DATABASE_URL", url}, {"STORYGATE_BEARER_TOKENS", test_token}};
  server srv({"serve", "--mapping", core_mapping_path(), "--db-pool-size", "2"}, env);
  const auto record = http_get(srv.port(), "/api/v1/customer/244988", bearer());
  EXPECT_EQ(record.status, 200u) << record.body;
  const auto backends = pool_backends();
  EXPECT_NE(backends.find("storygate_test_reader "), std::string::npos) << backends;
  EXPECT_EQ(backends.find("127.0.0.1"), std::string::npos) << "a pooled connection went over TCP: " << backends;
}

TEST_F(DatabaseConnections, TheNextHostIsTriedWhenTheFirstRefuses) {
  const auto closed = free_port(26480, 20);  // nothing listens there: refused at once
  const auto url = "postgresql://storygate_test_reader@127.0.0.1:" + std::to_string(closed) + ",127.0.0.1:" +
                   std::to_string(port_of(admin_url())) + "/" + db_->name();
  expect_served(url);
}

}  // namespace
}  // namespace storygate::testing
