// The cases the differential tester and issue 11 found, kept small and
// explicit: each failed before its fix.
#include <gtest/gtest.h>

#include "../integration/harness.h"

namespace storygate::differential {
namespace {

using storygate::testing::bearer;
using storygate::testing::http_get;
using storygate::testing::scratch_database;
using storygate::testing::server;

std::unique_ptr<server> serve(const scratch_database& db, const std::string& mapping_yaml,
                              const std::string& overlap = "0") {
  const auto mapping = testing::write_temp_file("regression.yaml", mapping_yaml);
  return std::make_unique<server>(
      std::vector<std::string>{"serve", "--mapping", mapping, "--sync-overlap-seconds", overlap},
      std::map<std::string, std::string>{{"STORYGATE_DATABASE_URL", db.url()},
                                         {"STORYGATE_BEARER_TOKENS", testing::test_token}});
}

// Issue 11: a multi-company table whose ids are unique per company only,
// served with a tenant filter. The OFFSET page fetched its rows back by
// (updated_at, id) without the filter, and served the other company's row.
TEST(Regression, TenantFilterHoldsOnOffsetPages) {
  scratch_database db(
      "CREATE TABLE cust (tenant int, cust_no int, chg date, name text);"
      "INSERT INTO cust VALUES (1, 100, '2024-01-01', 'A'), (2, 100, '2024-01-01', 'LEAK'),"
      "  (1, 101, '2024-01-02', 'B'), (2, 101, '2024-01-02', 'LEAK');");
  auto srv = serve(db,
                   "time_zone: UTC\n"
                   "source: { relation: cust, id: cust_no, updated_at: chg, filter: \"customer.tenant = 1\" }\n"
                   "fields: { name: name }\n");
  const auto first = http_get(srv->port(), "/api/v1/customers", bearer());
  EXPECT_EQ(first.status, 200u);
  EXPECT_EQ(first.body,
            R"({"count":2,"start":"0","limit":"25","records":[{"id":100,"name":"A"},{"id":101,"name":"B"}]})");
  const auto offset = http_get(srv->port(), "/api/v1/customers?start=1&limit=1", bearer());
  EXPECT_EQ(offset.body, R"({"count":2,"start":"1","limit":"1","records":[{"id":101,"name":"B"}]})");
}

// Rows of one company sharing (updated_at, id) are one customer at one
// change time: served and counted once, so a walk neither repeats nor
// skips them at a page break.
TEST(Regression, RowsSharingIdAndChangeTimeAreServedOnce) {
  scratch_database db(
      "CREATE TABLE cust (cust_no int, chg timestamptz, name text);"
      "INSERT INTO cust VALUES (1, '2024-01-01Z', 'a'), (2, '2024-01-01Z', 'b'), (2, '2024-01-01Z', 'b'),"
      "  (3, '2024-01-01Z', 'c');");
  auto srv = serve(db, "time_zone: UTC\nsource: { relation: cust, id: cust_no, updated_at: chg }\nfields: { name: name }\n");
  std::string ids;
  std::string target = "/api/v1/customers?limit=1";
  for (int page = 0; page < 5 && !target.empty(); ++page) {
    const auto res = http_get(srv->port(), target, bearer());
    EXPECT_NE(res.body.find(R"("count":3)"), std::string::npos) << res.body;
    const auto at = res.body.find(R"("id":)");
    if (at != std::string::npos) ids += res.body.substr(at + 5, 1);
    const auto next = res.body.find(R"("next":")");
    target = next == std::string::npos ? "" : res.body.substr(next + 8, res.body.find('"', next + 8) - next - 8);
  }
  EXPECT_EQ(ids, "123");
}

// Issue 11: a naive timestamp in America/Chicago, written at 01:30 CST in the
// repeated hour of 2021-11-07, is served as 01:30-06:00 (07:30Z). Every
// last_updated at or before that instant lists it, though 06:45Z reads 01:45
// on the wall, later than 01:30.
TEST(Regression, RepeatedHourComparedAsInstants) {
  scratch_database db(
      "CREATE TABLE cust (cust_no int, chg timestamp);"
      "CREATE INDEX ON cust (chg, cust_no);"
      "INSERT INTO cust VALUES (1, '2021-11-07 01:30:00'), (2, '2021-11-07 00:30:00');");
  auto srv = serve(db,
                   "time_zone: America/Chicago\n"
                   "source: { relation: cust, id: cust_no, updated_at: chg }\n"
                   "fields: { changed: chg }\n");
  for (const std::string since : {"2021-11-07T06:45:00Z", "2021-11-07T07:00:00Z", "2021-11-07T07:30:00Z"}) {
    const auto res = http_get(srv->port(), "/api/v1/customers?last_updated=" + since, bearer());
    EXPECT_EQ(res.body,
              R"({"count":1,"start":"0","limit":"25","records":[{"id":1,"changed":"2021-11-07T01:30:00-06:00"}]})")
        << since;
  }
  // Just after it: not listed.
  const auto after = http_get(srv->port(), "/api/v1/customers?last_updated=2021-11-07T07:31:00Z", bearer());
  EXPECT_EQ(after.body, R"({"count":0,"start":"0","limit":"25","records":[]})");
}

// A wall clock in the skipped hour (02:30 on 2021-03-14 in Chicago) is served
// as the instant PostgreSQL reads it as (08:30Z), later than 03:05 CDT
// (08:05Z): a last_updated at that instant, 03:30 on the wall, lists it.
TEST(Regression, SkippedHourComparedAsInstants) {
  scratch_database db(
      "CREATE TABLE cust (cust_no int, chg timestamp);"
      "INSERT INTO cust VALUES (1, '2021-03-14 02:30:00'), (2, '2021-03-14 03:05:00');");
  const std::string instant = db.query_value(
      "SELECT to_char(timestamp '2021-03-14 02:30:00' AT TIME ZONE 'America/Chicago' AT TIME ZONE 'UTC',"
      " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
  auto srv = serve(db,
                   "time_zone: America/Chicago\n"
                   "source: { relation: cust, id: cust_no, updated_at: chg }\n"
                   "fields: { one: { constant: 1 } }\n");
  const auto at = http_get(srv->port(), "/api/v1/customers?last_updated=" + instant, bearer());
  EXPECT_NE(at.body.find(R"({"id":1,)"), std::string::npos) << instant << ": " << at.body;
  // One second later: only rows whose instant is later.
  const std::string later = db.query_value("SELECT to_char(('" + instant +
                                           "'::timestamptz + interval '1 second') AT TIME ZONE 'UTC',"
                                           " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
  const auto res = http_get(srv->port(), "/api/v1/customers?last_updated=" + later, bearer());
  const std::string count = db.query_value(
      "SELECT count(*) FROM cust WHERE chg AT TIME ZONE 'America/Chicago' >= '" + later + "'::timestamptz");
  EXPECT_NE(res.body.find("\"count\":" + count + ","), std::string::npos) << later << ": " << res.body;
  EXPECT_EQ(res.body.find(R"({"id":1,)"), std::string::npos) << later << ": " << res.body;
}

// A numeric id with a fraction is listed as it is stored; it can be fetched
// as listed. So can a text id with a tab in it.
TEST(Regression, EveryListedIdCanBeFetched) {
  scratch_database db(
      "CREATE TABLE num (id numeric(12,2), chg date); INSERT INTO num VALUES (33995.70, '2024-01-01');"
      "CREATE TABLE txt (id text, chg date); INSERT INTO txt VALUES (E'a\\tb', '2024-01-01');");
  const std::string fields = "fields: { one: { constant: 1 } }\n";
  auto numeric = serve(db, "time_zone: UTC\nsource: { relation: num, id: id, updated_at: chg }\n" + fields);
  EXPECT_NE(http_get(numeric->port(), "/api/v1/customers", bearer()).body.find(R"("id":"33995.70")"),
            std::string::npos);
  const auto by_id = http_get(numeric->port(), "/api/v1/customer/33995.70", bearer());
  EXPECT_EQ(by_id.status, 200u) << by_id.body;
  EXPECT_EQ(by_id.body, R"({"id":"33995.70","one":1})");
  EXPECT_EQ(http_get(numeric->port(), "/api/v1/customer/1.2.3", bearer()).status, 400u);

  auto text = serve(db, "time_zone: UTC\nsource: { relation: txt, id: id, updated_at: chg }\n" + fields);
  const auto tab = http_get(text->port(), "/api/v1/customer/a%09b", bearer());
  EXPECT_EQ(tab.status, 200u) << tab.body;
  EXPECT_EQ(tab.body, R"({"id":"a\tb","one":1})");
}

// default: [] serves a NULL list as an empty one; on a field that is not a
// list it is a mistake found at start-up.
TEST(Regression, EmptyListDefault) {
  scratch_database db(
      "CREATE TABLE cust (id int, chg date, tags text, arr text[]);"
      "INSERT INTO cust VALUES (1, '2024-01-01', NULL, NULL), (2, '2024-01-02', 'a;b', '{x}');");
  auto srv = serve(db,
                   "time_zone: UTC\n"
                   "source: { relation: cust, id: id, updated_at: chg }\n"
                   "fields:\n"
                   "  tags: { column: tags, type: array, split: \";\", default: [] }\n"
                   "  arr: { column: arr, default: [] }\n"
                   "  plain: { column: arr }\n");
  EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/1", bearer()).body, R"({"id":1,"tags":[],"arr":[],"plain":null})");
  EXPECT_EQ(http_get(srv->port(), "/api/v1/customer/2", bearer()).body,
            R"({"id":2,"tags":["a","b"],"arr":["x"],"plain":["x"]})");

  const auto mapping = testing::write_temp_file(
      "not-a-list.yaml",
      "time_zone: UTC\nsource: { relation: cust, id: id, updated_at: chg }\nfields:\n  tags: { column: tags, default: [] }\n");
  const auto r = testing::run_storygate({"serve", "--no-auth", "--mapping", mapping},
                                        {{"STORYGATE_DATABASE_URL", db.url()}});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("field 'tags': default [] is for a list"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace storygate::differential
