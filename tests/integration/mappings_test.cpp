// Every example in mappings/ against the schema it describes, through the
// real server: the conversions, clean-ups, filters and change-time
// expressions a DBA can ask for.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>

#include "harness.h"

namespace storygate::testing {
namespace {

std::unique_ptr<server> serve(const scratch_database& db, const std::string& mapping) {
  return std::make_unique<server>(
      std::vector<std::string>{"serve", "--mapping", source_path(mapping), "--sync-overlap-seconds", "0"},
      std::map<std::string, std::string>{{"STORYGATE_DATABASE_URL", db.url_as("storygate_test_reader")},
                                         {"STORYGATE_BEARER_TOKENS", test_token}});
}

class FlagsAndTextDates : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new scratch_database(read_file(source_path("tests/integration/fixtures/flags-and-text-dates.sql")));
    srv_ = serve(*db_, "mappings/flags-and-text-dates.yaml").release();
  }
  static void TearDownTestSuite() {
    delete srv_;
    delete db_;
  }
  static http_response get(const std::string& target) { return http_get(srv_->port(), target, bearer()); }
  static scratch_database* db_;
  static server* srv_;
};
scratch_database* FlagsAndTextDates::db_ = nullptr;
server* FlagsAndTextDates::srv_ = nullptr;

TEST_F(FlagsAndTextDates, CleanValuesAreConverted) {
  const auto res = get("/api/v1/customer/C0000001");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.body,
            R"({"id":"C0000001","first_name":"Amanda","last_name":"Grover","email":"amanda.grover@example.com",)"
            R"("mobile_phone":"5553728048","allow_sms":true,"allow_email":false,"birth_date":"1985-04-17",)"
            R"("date_first_order":"2021-01-23T16:33:37-06:00","total_sales":4118.01,)"
            R"("categories":["Beauty","Health"],"country":"US"})");
}

TEST_F(FlagsAndTextDates, BadValuesAreNullOrDefaultAndWarned) {
  const auto res = get("/api/v1/customer/C0000002");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.body,
            R"({"id":"C0000002","first_name":"Bob","last_name":"Bell","email":null,)"
            R"("mobile_phone":"5551002000","allow_sms":false,"allow_email":true,"birth_date":null,)"
            R"("date_first_order":null,"total_sales":0,"categories":[],"country":"US"})");
  ASSERT_TRUE(eventually([] { return srv_->logs().find(R"("field":"total_sales","value":"n/a")") != std::string::npos; }));
  const auto logs = srv_->logs();
  EXPECT_NE(logs.find(R"("id":"C0000002","field":"birth_date","value":"13/45/1990")"), std::string::npos) << logs;
  EXPECT_NE(logs.find(R"("field":"date_first_order","value":"not a date")"), std::string::npos);
  EXPECT_NE(logs.find(R"("field":"total_sales","value":"n/a")"), std::string::npos);
  const auto metrics = get("/metrics").body;
  EXPECT_NE(metrics.find(R"(storygate_coercion_warnings_total{field="birth_date"} 1)"), std::string::npos) << metrics;
}

TEST_F(FlagsAndTextDates, LeapDayAndDaylightSavingAreRight) {
  const auto res = get("/api/v1/customer/C0000004");
  EXPECT_NE(res.body.find(R"("birth_date":"2000-02-29")"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find(R"("date_first_order":"2021-10-06T13:01:27-05:00")"), std::string::npos);
  EXPECT_NE(res.body.find(R"("allow_sms":false)"), std::string::npos) << "NULL flag takes the default";
  EXPECT_NE(res.body.find(R"("allow_email":null)"), std::string::npos);
}

TEST_F(FlagsAndTextDates, FilteredRowsAreNeverServed) {
  EXPECT_EQ(get("/api/v1/customer/C0000003").status, 404u);
  rapidjson::Document doc;
  doc.Parse(get("/api/v1/customers").body.c_str());
  EXPECT_EQ(doc["count"].GetInt(), 3);
  for (const auto& r : doc["records"].GetArray()) EXPECT_STRNE(r["id"].GetString(), "C0000003");
}

TEST_F(FlagsAndTextDates, ChangeTimeExpressionSeesTheLatestNote) {
  // Dora's row changed on 2022-01-01, her note on 2022-07-05.
  rapidjson::Document doc;
  doc.Parse(get("/api/v1/customers?last_updated=2022-07-04").body.c_str());
  ASSERT_EQ(doc["count"].GetInt(), 1);
  EXPECT_STREQ(doc["records"][0]["id"].GetString(), "C0000004");
}

TEST(FlatTable, OnlyMappedColumnsAreServed) {
  scratch_database db(read_file(source_path("tests/integration/fixtures/flat-table.sql")));
  db.exec("GRANT SELECT ON public.customers TO storygate_test_reader");
  auto srv = serve(db, "mappings/flat-table.yaml");
  const auto res = http_get(srv->port(), "/api/v1/customer/9001", bearer());
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.body,
            R"({"id":9001,"first_name":"Amanda","last_name":"Grover","email":"amanda@example.com",)"
            R"("mobile_phone":"5553728048","city":"Seattle","state":"WA","country":"US","points":322,)"
            R"("allow_sms":true,"allow_email":false,"total_sales":4118.01,)"
            R"("date_last_order":"2021-10-06T14:01:27-04:00","categories":["Beauty ","Health"]})");
  EXPECT_EQ(res.body.find("secret-hash"), std::string::npos);
  rapidjson::Document doc;
  doc.Parse(http_get(srv->port(), "/api/v1/customers?last_updated=2022-07-04T00:00:00Z", bearer()).body.c_str());
  EXPECT_EQ(doc["count"].GetInt(), 1);
}

TEST(MappingMistakes, ChildrenAndConversionsArePointedAt) {
  scratch_database db(read_file(source_path("tests/integration/fixtures/flags-and-text-dates.sql")));
  const auto run = [&](const std::string& fields) {
    const auto mapping = write_temp_file(
        "m.yaml", "time_zone: UTC\nsource:\n  relation: crm.client\n  id: client_code\n  updated_at: changed\n"
                  "fields:\n" + fields);
    return run_storygate({"check", "--mapping", mapping}, {{"STORYGATE_DATABASE_URL", db.url()}});
  };
  auto r = run("  cats: { column: interests, type: array }\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("m.yaml:7:19: field 'cats' is text in the database; to serve it as an array, say how "
                          "items are separated, e.g. split: \";\""),
            std::string::npos) << r.output;
  r = run("  notes: { children: { relation: crm.client_note, key: client_cd, value: noted_at } }\n");
  EXPECT_NE(r.output.find("field 'notes' 'key': column 'client_cd' does not exist in crm.client_note (did you mean "
                          "'client_code'?)"),
            std::string::npos) << r.output;
  r = run("  born: { column: dob_txt, type: date, format: \"%m/%d/%Y\", time_zone: Mars/Olympus }\n");
  EXPECT_NE(r.output.find("unknown time zone 'Mars/Olympus'"), std::string::npos) << r.output;
  r = run("  ok: { column: changed, type: date }\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace storygate::testing
