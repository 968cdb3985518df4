// The demo the README's first command serves: scripts/demo-database.sql (at a
// small scale) behind mappings/demo.yaml must give DailyStory's example record.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

#include "harness.h"

namespace storygate::testing {
namespace {

TEST(Demo, ExampleCustomerMatchesTheSeed) {
  scratch_database db("");
  db.run_psql_file(source_path("scripts/demo-database.sql"), {{"customers", "300"}});
  server srv({"serve", "--mapping", source_path("mappings/demo.yaml")},
             {{"STORYGATE_DATABASE_URL", db.url_as("storygate_reader")},
              {"STORYGATE_BEARER_TOKENS", test_token}});

  const auto res = http_get(srv.port(), "/api/v1/customer/244988", bearer());
  ASSERT_EQ(res.status, 200u) << res.body;
  rapidjson::Document doc;
  doc.Parse(res.body.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(doc["id"].GetInt(), 244988);
  EXPECT_STREQ(doc["first_name"].GetString(), "Amanda");
  EXPECT_STREQ(doc["last_name"].GetString(), "Grover");
  EXPECT_STREQ(doc["mobile_phone"].GetString(), "5553728048");
  EXPECT_EQ(doc["points"].GetInt(), 322);
  EXPECT_TRUE(doc["allow_sms"].GetBool());
  EXPECT_FALSE(doc["allow_email"].GetBool());
  EXPECT_STREQ(doc["city"].GetString(), "Seattle");
  EXPECT_STREQ(doc["state"].GetString(), "Washington");
  EXPECT_TRUE(doc["address"].IsNull());
  EXPECT_TRUE(doc["zip"].IsNull());
  EXPECT_TRUE(doc["birth_date"].IsNull());
  EXPECT_EQ(doc["store_id"].GetInt(), 598);
  EXPECT_EQ(doc["total_orders"].GetInt(), 65);
  EXPECT_NE(res.body.find("\"total_sales\":4118.01,"), std::string::npos) << res.body;
  EXPECT_STREQ(doc["date_first_order"].GetString(), "2021-01-23T16:33:37-06:00");
  EXPECT_STREQ(doc["date_last_order"].GetString(), "2021-10-06T13:01:27-05:00");
  EXPECT_NE(res.body.find("\"last_order_value\":30.68,"), std::string::npos) << res.body;
  ASSERT_EQ(doc["categories"].Size(), 2u);
  EXPECT_STREQ(doc["categories"][0].GetString(), "Beauty ");
  EXPECT_STREQ(doc["categories"][1].GetString(), "Health");

  // A whole sync of the demo: every customer once.
  std::set<int> ids;
  int count = 0;
  for (int start = 0;; start += 100) {
    rapidjson::Document page;
    page.Parse(http_get(srv.port(), "/api/v1/customers?limit=100&start=" + std::to_string(start), bearer())
                   .body.c_str());
    count = page["count"].GetInt();
    if (page["records"].Empty()) break;
    for (const auto& r : page["records"].GetArray()) ids.insert(r["id"].GetInt());
  }
  EXPECT_EQ(count, 300);
  EXPECT_EQ(ids.size(), 300u);
}

}  // namespace
}  // namespace storygate::testing
