// The two DailyStory endpoints end to end: the real binary, real HTTP, a real
// PostgreSQL loaded with tests/integration/fixtures/core.sql.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <array>
#include <fstream>
#include <set>
#include <sstream>

#include "core_database.h"
#include "harness.h"

namespace storygate::testing {
namespace {

rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  EXPECT_FALSE(doc.HasParseError()) << body;
  return doc;
}

class ApiTest : public core_database_suite {
 protected:
  static void SetUpTestSuite() {
    core_database_suite::SetUpTestSuite();
    server_ = new server({"serve", "--mapping", core_mapping_path(),
                          "--max-limit", "50", "--sync-overlap-seconds", "0"},
                         {{"STORYGATE_DATABASE_URL", db_->url_as("storygate_test_reader")},
                          {"STORYGATE_BEARER_TOKENS", test_token + " rotated-second-token"},
                          {"STORYGATE_BASIC_CREDENTIALS", "dailystory:s3cret:with:colons"}});
  }
  static void TearDownTestSuite() {
    delete server_;
    core_database_suite::TearDownTestSuite();
  }
  static http_response get(const std::string& target) { return http_get(server_->port(), target, bearer()); }

  static server* server_;
};
server* ApiTest::server_ = nullptr;

TEST_F(ApiTest, SingleRecordHasTheSeedExampleShape) {
  const auto res = get("/api/v1/customer/244988");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(res.header("cache-control"), "no-store");
  EXPECT_EQ(res.body, core_example_record);
}

TEST_F(ApiTest, OffsetsFollowDaylightSavingTime) {
  // One customer with a January and a July timestamp: America/Chicago is
  // -06:00 in winter and -05:00 in summer.
  db_->exec("UPDATE legacy.cust_master SET first_order = '2022-01-15 09:00:00', "
            "last_order = '2022-07-15 14:00:00+00' WHERE cust_no = 1001");
  const auto doc = parse_json(get("/api/v1/customer/1001").body);
  EXPECT_STREQ(doc["date_first_order"].GetString(), "2022-01-15T09:00:00-06:00");
  EXPECT_STREQ(doc["date_last_order"].GetString(), "2022-07-15T09:00:00-05:00");
}

TEST_F(ApiTest, TypesAreJsonTypes) {
  const auto doc = parse_json(get("/api/v1/customer/1003").body);
  EXPECT_TRUE(doc["points"].IsInt());
  EXPECT_TRUE(doc["allow_sms"].IsBool());
  EXPECT_TRUE(doc["allow_email"].IsNull());
  EXPECT_TRUE(doc["total_sales"].IsNumber());
  EXPECT_DOUBLE_EQ(doc["total_sales"].GetDouble(), 3.30);
  ASSERT_TRUE(doc["categories"].IsArray());
  EXPECT_STREQ(doc["categories"][0].GetString(), "C0");
  EXPECT_TRUE(doc["id"].IsInt());
}

TEST_F(ApiTest, NumericKeepsItsCents) {
  const auto res = get("/api/v1/customer/1010");
  EXPECT_NE(res.body.find(R"("total_sales":11.00)"), std::string::npos) << res.body;
}

TEST_F(ApiTest, UnknownCustomerIs404WithTheSeedMessage) {
  const auto res = get("/api/v1/customer/999999");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(res.body, R"({"error":"No customer found for id 999999"})");
}

TEST_F(ApiTest, IdThatCannotBeAnIntegerIs400) {
  for (const std::string id : {"abc", "12a", "1.5", "99999999999", "%2D", "0x10", "%201"}) {
    const auto res = get("/api/v1/customer/" + id);
    EXPECT_EQ(res.status, 400u) << id;
    EXPECT_NE(res.body.find("customer id must be a whole number"), std::string::npos) << res.body;
  }
}

TEST_F(ApiTest, ListEchoesStartAndLimitAsStringsAndCountsAsNumber) {
  const auto doc = parse_json(get("/api/v1/customers?last_updated=2022-01-10&start=2&limit=3").body);
  ASSERT_TRUE(doc["count"].IsInt());
  // Customers 1036..1120 change on or after 2022-01-10 (n/4 >= 9), plus 244988.
  EXPECT_EQ(doc["count"].GetInt(), 86);
  EXPECT_STREQ(doc["start"].GetString(), "2");
  EXPECT_STREQ(doc["limit"].GetString(), "3");
  ASSERT_EQ(doc["records"].Size(), 3u);
  EXPECT_EQ(doc["records"][0]["id"].GetInt(), 1038);
}

TEST_F(ApiTest, DefaultsAreStartZeroLimit25AndAllRecords) {
  const auto doc = parse_json(get("/api/v1/customers").body);
  EXPECT_EQ(doc["count"].GetInt(), 121);
  EXPECT_STREQ(doc["start"].GetString(), "0");
  EXPECT_STREQ(doc["limit"].GetString(), "25");
  EXPECT_EQ(doc["records"].Size(), 25u);
}

TEST_F(ApiTest, ListRecordsHaveTheSingleRecordShape) {
  const auto list = parse_json(get("/api/v1/customers?last_updated=2022-07-03T12:33:45").body);
  ASSERT_EQ(list["records"].Size(), 1u);
  const auto single = parse_json(get("/api/v1/customer/244988").body);
  EXPECT_TRUE(list["records"][0] == single);
}

TEST_F(ApiTest, FullPagedWalkReturnsEveryIdExactlyOnce) {
  std::multiset<int> seen;
  int count = -1;
  for (int start = 0;; start += 7) {
    const auto doc = parse_json(get("/api/v1/customers?last_updated=2022-01-05T00:00:00&limit=7&start=" +
                                    std::to_string(start)).body);
    count = doc["count"].GetInt();
    if (doc["records"].Empty()) break;
    for (const auto& r : doc["records"].GetArray()) seen.insert(r["id"].GetInt());
  }
  // 2022-01-05 is day 4: n >= 16, so 1016..1120 and 244988.
  EXPECT_EQ(count, 106);
  EXPECT_EQ(seen.size(), 106u);
  EXPECT_EQ(std::set<int>(seen.begin(), seen.end()).size(), seen.size()) << "an id came twice";
  EXPECT_EQ(seen.count(1015), 0u);
  EXPECT_EQ(seen.count(1016), 1u);
}

TEST_F(ApiTest, LastUpdatedIsInclusiveAndReadInTheMappingZone) {
  // 244988 changed at 2022-07-03 12:33:45 Chicago time = 17:33:45Z.
  const auto count = [](const std::string& since) {
    return parse_json(get("/api/v1/customers?last_updated=" + since).body)["count"].GetInt();
  };
  EXPECT_EQ(count("2022-07-03T12:33:45"), 1);
  EXPECT_EQ(count("2022-07-03T12:33:46"), 0);
  EXPECT_EQ(count("2022-07-03T17:33:45Z"), 1);
  EXPECT_EQ(count("2022-07-03T17:33:45.000001Z"), 0);
  EXPECT_EQ(count("2022-07-03T12:33:45-05:00"), 1);
  EXPECT_EQ(count("2022-07-03T12:33:45-0500"), 1);
  EXPECT_EQ(count("2022-07-03T23:03:45%2B05:30"), 1);  // encoded '+'
  EXPECT_EQ(count("2022-07-03T23:03:45+05:30"), 1);    // '+' decoded as a space
  EXPECT_EQ(count("2022-07-03T23:03:46%2B0530"), 0);
  EXPECT_EQ(count("2022-07-03"), 1);
  EXPECT_EQ(count("2022-07-04"), 0);
}

TEST_F(ApiTest, BadParametersAre400NamingTheParameter) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"last_updated=yesterday", "'last_updated'"},
      {"last_updated=2022-13-01", "'last_updated'"},
      {"last_updated=2022-02-30T00:00:00", "'last_updated'"},
      {"start=-1", "'start'"},
      {"start=abc", "'start'"},
      {"limit=0", "'limit'"},
      {"limit=51", "1 to 50"},
      {"limit=ten", "'limit'"},
      {"limit=5&limit=6", "more than once"},
      {"start=1&start=1", "more than once"},
  };
  for (const auto& [query, expected] : cases) {
    const auto res = get("/api/v1/customers?" + query);
    EXPECT_EQ(res.status, 400u) << query;
    EXPECT_NE(res.body.find(expected), std::string::npos) << query << " -> " << res.body;
    EXPECT_NO_THROW(parse_json(res.body));
  }
}

TEST_F(ApiTest, AuthFailuresAre401WithAChallenge) {
  const std::vector<std::map<std::string, std::string>> failures = {
      {},
      {{"Authorization", "Bearer wrong-token"}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Token " + test_token}},
      {{"Authorization", "Basic not-base64!"}},
      {{"Authorization", "Basic ZGFpbHlzdG9yeTp3cm9uZw=="}},  // dailystory:wrong
      {{"Authorization", "Basic ZGFpbHlzdG9yeQ=="}},          // no colon
  };
  for (const auto& headers : failures) {
    const auto res = http_get(server_->port(), "/api/v1/customer/244988", headers);
    EXPECT_EQ(res.status, 401u) << (headers.empty() ? "(none)" : headers.begin()->second);
    EXPECT_EQ(res.header("www-authenticate"), R"(Basic realm="storygate", Bearer realm="storygate")");
    EXPECT_NE(res.body.find("\"error\""), std::string::npos);
  }
}

TEST_F(ApiTest, EveryConfiguredCredentialIsAccepted) {
  for (const std::string& header :
       {"Bearer " + test_token, std::string("Bearer rotated-second-token"),
        std::string("Basic ZGFpbHlzdG9yeTpzM2NyZXQ6d2l0aDpjb2xvbnM="),  // dailystory:s3cret:with:colons
        std::string("bearer ") + test_token}) {
    EXPECT_EQ(http_get(server_->port(), "/api/v1/customer/244988", {{"Authorization", header}}).status, 200u)
        << header;
  }
}

TEST_F(ApiTest, OtherMethodsAre405WithAllow) {
  for (const std::string method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    const auto res = http_request(server_->port(), method, "/api/v1/customer/244988", bearer());
    EXPECT_EQ(res.status, 405u) << method;
    EXPECT_EQ(res.header("allow"), "GET, HEAD");
  }
}

TEST_F(ApiTest, HeadHasTheHeadersOfGetAndNoBody) {
  const auto get_res = get("/api/v1/customer/244988");
  const auto head = http_request(server_->port(), "HEAD", "/api/v1/customer/244988", bearer());
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), std::to_string(get_res.body.size()));
  EXPECT_TRUE(head.body.empty());
}

TEST_F(ApiTest, UnknownPathsAre404Json) {
  for (const std::string path : {"/", "/api/v1/customer", "/api/v1/customer/", "/api/v2/customers",
                                 "/api/v1/customers/extra", "/etc/passwd"}) {
    const auto res = get(path);
    EXPECT_EQ(res.status, 404u) << path;
    EXPECT_NO_THROW(parse_json(res.body));
  }
}

TEST_F(ApiTest, NoSqlOrInternalsInAnyErrorBody) {
  for (const std::string target : {"/api/v1/customer/1'%20OR%201=1--", "/api/v1/customers?limit=1;DROP",
                                   "/api/v1/customers?last_updated='%20OR%20''='"}) {
    const auto res = get(target);
    EXPECT_GE(res.status, 400u);
    EXPECT_LT(res.status, 500u);
    for (const std::string leak : {"SELECT", "select", "cust_master", "pqxx", "ERROR:"})
      EXPECT_EQ(res.body.find(leak), std::string::npos) << target << " leaked " << leak << ": " << res.body;
  }
  EXPECT_EQ(db_->query_value("SELECT count(*) FROM legacy.cust_master"), "121");
}

TEST_F(ApiTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const std::string one = "GET /api/v1/customer/244988 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                          test_token + "\r\n\r\n";
  const std::string last = "GET /api/v1/customer/1001 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           "Authorization: Bearer " + test_token + "\r\n\r\n";
  const auto answer = send_raw(server_->port(), one + one + last);
  std::size_t responses = 0;
  for (std::size_t at = 0; (at = answer.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at) ++responses;
  EXPECT_EQ(responses, 3u) << answer;
}

TEST(TextIds, IdsFollowTheColumnType) {
  scratch_database db(core_sql());
  server srv({"serve", "--mapping", source_path("tests/integration/fixtures/accounts.yaml")},
             {{"STORYGATE_DATABASE_URL", db.url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  auto res = http_get(srv.port(), "/api/v1/customer/C-00123", bearer());
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.body, R"({"id":"C-00123","first_name":"Text Id"})");
  EXPECT_EQ(http_get(srv.port(), "/api/v1/customer/C%2000124", bearer()).status, 200u);
  EXPECT_EQ(http_get(srv.port(), "/api/v1/customer/C%2F00125", bearer()).status, 200u);
  res = http_get(srv.port(), "/api/v1/customer/C-99999", bearer());
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(res.body, R"({"error":"No customer found for id C-99999"})");
  // A text column may hold a control character, and a list serves such an id
  // as stored: it is looked up like any other (and here not found).
  EXPECT_EQ(http_get(srv.port(), "/api/v1/customer/C%01", bearer()).status, 404u);
  // A timestamptz updated_at, in a UTC mapping.
  const auto list = parse_json(http_get(srv.port(), "/api/v1/customers?last_updated=2023-03-02T12:00:00Z", bearer()).body);
  EXPECT_EQ(list["count"].GetInt(), 2);
}

// Offsets of whole hours, of 45 minutes, of half an hour, negative ones, and
// Lord Howe's half-hour daylight saving time, served as +HH:MM on every major
// (PostgreSQL 10 has no TZH:TZM; see sql/customer_queries.cpp).
TEST(ApiOffsets, MinutesAndHalfHoursOnEveryMajor) {
  scratch_database db(core_sql());
  db.exec("UPDATE legacy.cust_master SET last_order = '2022-01-15 00:00:00+00' WHERE cust_no = 1001;"
          "UPDATE legacy.cust_master SET last_order = '2022-07-15 00:00:00+00' WHERE cust_no = 1002");
  const std::string core = read_file(core_mapping_path());
  const std::string chicago = "time_zone: America/Chicago\n";
  ASSERT_NE(core.find(chicago), std::string::npos);
  const std::vector<std::array<std::string, 3>> zones{
      {"UTC", "2022-01-15T00:00:00+00:00", "2022-07-15T00:00:00+00:00"},
      {"Asia/Kathmandu", "2022-01-15T05:45:00+05:45", "2022-07-15T05:45:00+05:45"},
      {"Australia/Lord_Howe", "2022-01-15T11:00:00+11:00", "2022-07-15T10:30:00+10:30"},
      {"America/St_Johns", "2022-01-14T20:30:00-03:30", "2022-07-14T21:30:00-02:30"},
      {"America/Chicago", "2022-01-14T18:00:00-06:00", "2022-07-14T19:00:00-05:00"},
  };
  for (std::size_t i = 0; i < zones.size(); ++i) {
    const auto& [zone, january, july] = zones[i];
    std::string text = core;
    text.replace(text.find(chicago), chicago.size(), "time_zone: " + zone + "\n");
    server srv({"serve", "--mapping", write_temp_file("core-" + std::to_string(i) + ".yaml", text)},
               {{"STORYGATE_DATABASE_URL", db.url_as("storygate_test_reader")},
                {"STORYGATE_BEARER_TOKENS", test_token}});
    EXPECT_STREQ(parse_json(http_get(srv.port(), "/api/v1/customer/1001", bearer()).body)["date_last_order"].GetString(),
                 january.c_str()) << zone;
    EXPECT_STREQ(parse_json(http_get(srv.port(), "/api/v1/customer/1002", bearer()).body)["date_last_order"].GetString(),
                 july.c_str()) << zone;
  }
}

TEST(Outage, DatabaseGoneGives503JsonAndAuthStillChecked) {
  auto db = std::make_unique<scratch_database>(core_sql());
  server srv({"serve", "--mapping", core_mapping_path()},
             {{"STORYGATE_DATABASE_URL", db->url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  ASSERT_EQ(http_get(srv.port(), "/api/v1/customer/244988", bearer()).status, 200u);
  db.reset();  // dropped with its sessions ended: connections die, reconnects fail
  const auto res = http_get(srv.port(), "/api/v1/customer/244988", bearer());
  EXPECT_EQ(res.status, 503u) << res.body;
  EXPECT_FALSE(res.header("retry-after").empty());
  EXPECT_NO_THROW(parse_json(res.body));
  // Refused before any database work: these still answer as usual.
  EXPECT_EQ(http_get(srv.port(), "/api/v1/customer/244988").status, 401u);
  EXPECT_EQ(http_get(srv.port(), "/api/v1/customers?limit=0", bearer()).status, 400u);
  EXPECT_TRUE(srv.running());
}

}  // namespace
}  // namespace storygate::testing
