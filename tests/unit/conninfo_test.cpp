#include "db/conninfo.h"

#include <gtest/gtest.h>

#include <string>

namespace storygate::db {
namespace {

using namespace std::chrono_literals;

const connection_defaults defaults{};  // 3 s connect timeout

// What storygate adds when the operator set nothing, in key order.
const std::string all_defaults =
    "client_encoding='UTF8' connect_timeout='3' fallback_application_name='storygate' keepalives='1' "
    "keepalives_count='3' keepalives_idle='30' keepalives_interval='10' tcp_user_timeout='30000'";

// The message of the conninfo_error that build_conninfo(url) throws.
std::string error_of(const std::string& url) {
  try {
    build_conninfo(url, defaults);
  } catch (const conninfo_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << url;
  return "<accepted>";
}

// ---------------------------------------------------------------- build_conninfo

TEST(Conninfo, EmptyUrlGetsOnlyDefaults) {
  EXPECT_EQ(build_conninfo("", defaults), all_defaults);
}

TEST(Conninfo, UrlValuesKeptAndDefaultsAdded) {
  EXPECT_EQ(build_conninfo("postgresql://alice:hunter2@db.example.com:5433/crm?sslmode=require",
                           defaults),
            "client_encoding='UTF8' connect_timeout='3' dbname='crm' fallback_application_name='storygate' "
            "host='db.example.com' keepalives='1' keepalives_count='3' keepalives_idle='30' "
            "keepalives_interval='10' password='hunter2' port='5433' sslmode='require' "
            "tcp_user_timeout='30000' user='alice'");
}

TEST(Conninfo, PostgresSchemeAccepted) {
  EXPECT_EQ(build_conninfo("postgres://h/d", defaults),
            "client_encoding='UTF8' connect_timeout='3' dbname='d' fallback_application_name='storygate' host='h' "
            "keepalives='1' keepalives_count='3' keepalives_idle='30' keepalives_interval='10' "
            "tcp_user_timeout='30000'");
}

TEST(Conninfo, UrlPercentEncodingDecoded) {
  EXPECT_EQ(build_conninfo("postgresql://al%40ice:p%40ss%20word@h/d", defaults),
            "client_encoding='UTF8' connect_timeout='3' dbname='d' fallback_application_name='storygate' host='h' "
            "keepalives='1' keepalives_count='3' keepalives_idle='30' keepalives_interval='10' "
            "password='p@ss word' tcp_user_timeout='30000' user='al@ice'");
}

TEST(Conninfo, OperatorSettingsWinOverDefaults) {
  EXPECT_EQ(build_conninfo("postgresql://h/d?connect_timeout=20&application_name=etl"
                           "&fallback_application_name=x&keepalives=0&keepalives_idle=5"
                           "&keepalives_interval=6&keepalives_count=7&tcp_user_timeout=0",
                           defaults),
            "application_name='etl' client_encoding='UTF8' connect_timeout='20' dbname='d' "
            "fallback_application_name='x' host='h' keepalives='0' keepalives_count='7' "
            "keepalives_idle='5' keepalives_interval='6' tcp_user_timeout='0'");
}

// JSON is UTF-8: a LATIN1 database's text must be converted by PostgreSQL,
// whatever the URL asks for.
TEST(Conninfo, ClientEncodingIsAlwaysUtf8) {
  for (const std::string url : {"postgresql://h/d?client_encoding=LATIN1", "host=h client_encoding=SQL_ASCII",
                                "postgresql://h/d?client_encoding=auto"}) {
    const auto conninfo = build_conninfo(url, defaults);
    EXPECT_NE(conninfo.find("client_encoding='UTF8'"), std::string::npos) << conninfo;
    EXPECT_EQ(conninfo.find("client_encoding='", conninfo.find("client_encoding='UTF8'") + 1), std::string::npos)
        << conninfo;
  }
}

TEST(Conninfo, KeyValueInputKeptAndDefaultsAdded) {
  EXPECT_EQ(build_conninfo("host=/var/run/postgresql dbname=crm user=storygate connect_timeout=10",
                           defaults),
            "client_encoding='UTF8' connect_timeout='10' dbname='crm' fallback_application_name='storygate' "
            "host='/var/run/postgresql' keepalives='1' keepalives_count='3' keepalives_idle='30' "
            "keepalives_interval='10' tcp_user_timeout='30000' user='storygate'");
}

TEST(Conninfo, QuotesAndBackslashesInValuesEscaped) {
  EXPECT_EQ(build_conninfo(R"(password='it\'s a \\ secret' host=h)", defaults),
            "client_encoding='UTF8' connect_timeout='3' fallback_application_name='storygate' host='h' keepalives='1' "
            "keepalives_count='3' keepalives_idle='30' keepalives_interval='10' "
            R"(password='it\'s a \\ secret' tcp_user_timeout='30000')");
}

TEST(Conninfo, OutputParsesBackToTheSameOptions) {
  const std::string once = build_conninfo(R"(password='a b\'c' host=h)", defaults);
  EXPECT_EQ(build_conninfo(once, defaults), once);
}

// The connect_timeout='N' that build_conninfo("", {timeout}) writes.
std::string connect_timeout_for(std::chrono::milliseconds timeout) {
  const auto conninfo = build_conninfo("", {timeout});
  const auto at = conninfo.find("connect_timeout='");
  return at == std::string::npos ? "" : conninfo.substr(at, conninfo.find(' ', at) - at);
}

TEST(Conninfo, ConnectTimeoutInWholeSecondsAtLeastTwo) {
  EXPECT_EQ(connect_timeout_for(10s), "connect_timeout='10'");
  EXPECT_EQ(connect_timeout_for(2500ms), "connect_timeout='2'");
  // libpq treats 1 as 2; 0 would mean "wait forever".
  EXPECT_EQ(connect_timeout_for(1s), "connect_timeout='2'");
  EXPECT_EQ(connect_timeout_for(0ms), "connect_timeout='2'");
  EXPECT_EQ(connect_timeout_for(999ms), "connect_timeout='2'");
}

TEST(Conninfo, InvalidKeyValueThrows) {
  // libpq's own reason is not repeated: it quotes the input, password included.
  EXPECT_EQ(error_of("host=h dbname").rfind("the database URL is not valid: expected postgresql://", 0), 0u);
  EXPECT_EQ(error_of("nosuchoption=1").rfind("the database URL is not valid: ", 0), 0u);
}

TEST(Conninfo, InvalidUrlThrows) {
  EXPECT_EQ(error_of("postgresql://h/d?nosuchoption=1").rfind("the database URL is not valid: ", 0),
            0u);
}

TEST(Conninfo, InvalidUrlErrorHidesThePassword) {
  for (const std::string url : {
           "postgresql://alice:hunter2@h/d?nosuchoption=1",
           "postgresql://alice:hunter2@h/d?sslmode",          // query parameter without '='
           "postgresql://alice:hunter2@h/d?a=b=c",            // extra '='
           "postgresql://alice:hunter2@[::1/d",               // unterminated IPv6 address
           "postgresql://alice:hunter2%zz@h/d",               // bad percent-encoding
           "postgresql://alice:hunter2%@h/d",
           "postgresql://alice:hunter2@h:5432/d%zz",
           "postgresql://alice:hunter2@h/d?sslmode=%zz",
       }) {
    const std::string message = error_of(url);
    EXPECT_EQ(message.rfind("the database URL is not valid: ", 0), 0u) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
}

TEST(Conninfo, InvalidKeyValueErrorHidesThePassword) {
  for (const std::string conninfo : {
           "password=hunter2 host=h dbname",
           "password=hunter2 nosuchoption=1",
           "password='hunter2",
       }) {
    const std::string message = error_of(conninfo);
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
}

// ---------------------------------------------------------------- describe_target

TEST(DescribeTarget, AllParts) {
  const std::string conninfo =
      build_conninfo("postgresql://alice:hunter2@db.example.com:5433/crm", defaults);
  EXPECT_EQ(describe_target(conninfo), "db.example.com:5433/crm as alice");
}

TEST(DescribeTarget, Defaults) {
  EXPECT_EQ(describe_target(build_conninfo("", defaults)),
            "(default host):5432/(default database) as (default user)");
}

TEST(DescribeTarget, NeverContainsThePassword) {
  for (const std::string url : {"postgresql://alice:hunter2@h/d", "password=hunter2",
                                "postgresql://h/d?password=hunter2",
                                "host=h user=alice password='hunter2' dbname=d"}) {
    const std::string description = describe_target(build_conninfo(url, defaults));
    EXPECT_EQ(description.find("hunter2"), std::string::npos) << description;
  }
}

// libpq tries several hosts in turn; a single port applies to each.
TEST(DescribeTarget, EveryHostWithItsPort) {
  EXPECT_EQ(describe_target(build_conninfo("postgresql://alice@db1:5433,db2:5434/crm", defaults)),
            "db1:5433,db2:5434/crm as alice");
  EXPECT_EQ(describe_target("host=db1,db2 port=6000 dbname=crm"), "db1:6000,db2:6000/crm as (default user)");
  EXPECT_EQ(describe_target(build_conninfo("postgresql://alice@db1,db2:5434/crm", defaults)),
            "db1:5432,db2:5434/crm as alice");
}

TEST(DescribeTarget, SocketDirectoryHost) {
  EXPECT_EQ(describe_target("host=/var/run/postgresql dbname=crm"),
            "/var/run/postgresql:5432/crm as (default user)");
}

}  // namespace
}  // namespace storygate::db
