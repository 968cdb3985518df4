// What an operator relies on: health and readiness, metrics, the OpenAPI
// document of the loaded mapping, request ids, and live reload of the mapping.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "core_database.h"
#include "harness.h"

namespace storygate::testing {
namespace {

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }


class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<scratch_database>(core_sql());
    mapping_ = write_temp_file("ops.yaml", read_file(core_mapping_path()));
    srv_ = std::make_unique<server>(std::vector<std::string>{"serve", "--mapping", mapping_},
                                    std::map<std::string, std::string>{{"STORYGATE_DATABASE_URL", db_->url()},
                                                                       {"STORYGATE_BEARER_TOKENS", test_token}});
  }
  http_response get(const std::string& target) { return http_get(srv_->port(), target, bearer()); }

  std::unique_ptr<scratch_database> db_;
  std::string mapping_;
  std::unique_ptr<server> srv_;
};

TEST_F(OpsTest, HealthAndReadinessNeedNoCredentials) {
  EXPECT_EQ(http_get(srv_->port(), "/healthz").status, 200u);
  const auto ready = http_get(srv_->port(), "/readyz");
  EXPECT_EQ(ready.status, 200u) << ready.body;
  EXPECT_EQ(ready.body, R"({"status":"ready"})");
}

TEST_F(OpsTest, ReadinessFailsWhenTheDatabaseIsGone) {
  ASSERT_EQ(http_get(srv_->port(), "/readyz").status, 200u);
  db_.reset();
  // Readiness reads the pool's health check, which runs about once a second.
  http_response ready;
  EXPECT_TRUE(eventually([&] { return (ready = http_get(srv_->port(), "/readyz")).status == 503u; },
                         std::chrono::seconds(5)))
      << ready.status << " " << ready.body;
  EXPECT_EQ(http_get(srv_->port(), "/healthz").status, 200u);  // alive all the same
}

TEST_F(OpsTest, MetricsNeedCredentialsAndCountRequests) {
  EXPECT_EQ(http_get(srv_->port(), "/metrics").status, 401u);
  ASSERT_EQ(get("/api/v1/customer/244988").status, 200u);
  ASSERT_EQ(get("/api/v1/customer/1").status, 404u);
  const auto res = get("/metrics");
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res.body.find(R"(storygate_http_requests_total{route="customer",status="200"} 1)"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find(R"(storygate_http_requests_total{route="customer",status="404"} 1)"), std::string::npos);
  EXPECT_NE(res.body.find(R"(storygate_db_pool{state="size"} 4)"), std::string::npos);
  EXPECT_NE(res.body.find("storygate_db_query_duration_seconds_count"), std::string::npos);
  EXPECT_NE(res.body.find("storygate_auth_failures_total 1"), std::string::npos);
}

TEST_F(OpsTest, SyncSummaryIsLoggedAndCounted) {
  for (int start = 0; start < 121; start += 50)
    ASSERT_EQ(get("/api/v1/customers?limit=50&start=" + std::to_string(start)).status, 200u);
  EXPECT_TRUE(eventually([&] { return srv_->logs().find("\"msg\":\"sync finished\"") != std::string::npos; }));
  const auto logs = srv_->logs();
  const auto line_start = logs.find("\"msg\":\"sync finished\"");
  const auto line = logs.substr(line_start, logs.find('\n', line_start) - line_start);
  EXPECT_NE(line.find("\"pages\":3"), std::string::npos) << line;
  EXPECT_NE(line.find("\"records\":121"), std::string::npos) << line;
  EXPECT_NE(line.find("\"completed\":true"), std::string::npos) << line;
  EXPECT_NE(get("/metrics").body.find(R"(storygate_sync_pages_total{continuation="keyset"} 2)"), std::string::npos);
}

TEST_F(OpsTest, RequestIdIsEchoedOrGenerated) {
  auto res = http_get(srv_->port(), "/healthz", {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(res.header("x-request-id"), "abc-123");
  res = http_get(srv_->port(), "/healthz", {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_EQ(res.header("x-request-id").size(), 16u);
  // The log reaches the test through a pipe: give it a moment.
  EXPECT_TRUE(eventually([&] { return srv_->logs().find("\"request_id\":\"abc-123\"") != std::string::npos; }));
}

TEST_F(OpsTest, LogsCarryNoSecret) {
  get("/api/v1/customer/244988");
  http_get(srv_->port(), "/api/v1/customer/244988", {{"X-Request-Id", "the-last"}, {"Authorization", "Bearer wrong-secret-xyz"}});
  ASSERT_TRUE(eventually([&] { return srv_->logs().find("the-last") != std::string::npos; }));
  const auto logs = srv_->logs();
  EXPECT_EQ(logs.find(test_token), std::string::npos);
  EXPECT_EQ(logs.find("wrong-secret-xyz"), std::string::npos);
}

TEST_F(OpsTest, OpenApiDocumentDescribesTheMapping) {
  EXPECT_EQ(http_get(srv_->port(), "/api/v1/openapi.json").status, 401u);
  const auto res = get("/api/v1/openapi.json");
  ASSERT_EQ(res.status, 200u);
  rapidjson::Document doc;
  doc.Parse(res.body.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["openapi"].GetString(), "3.0.3");
  const auto& props = doc["components"]["schemas"]["Customer"]["properties"];
  EXPECT_STREQ(props["id"]["type"].GetString(), "integer");
  EXPECT_STREQ(props["total_sales"]["type"].GetString(), "number");
  EXPECT_TRUE(props["total_sales"]["nullable"].GetBool());
  EXPECT_STREQ(props["date_first_order"]["format"].GetString(), "date-time");
  EXPECT_STREQ(props["birth_date"]["format"].GetString(), "date");
  EXPECT_STREQ(props["categories"]["type"].GetString(), "array");
  EXPECT_TRUE(doc["paths"].HasMember("/api/v1/customers"));
  // A real OpenAPI validator checks documents like this one: openapi_test.cpp.
}

TEST_F(OpsTest, SighupReloadsTheMapping) {
  write_file(mapping_, read_file(mapping_) + "  country: { expression: \"'US'\", type: string }\n");
  kill(srv_->pid(), SIGHUP);
  EXPECT_TRUE(eventually([&] { return get("/api/v1/customer/244988").body.find("\"country\":\"US\"") != std::string::npos; }));
  EXPECT_TRUE(eventually([&] { return srv_->logs().find("\"msg\":\"mapping reloaded\"") != std::string::npos; }));
}

TEST_F(OpsTest, ChangedFileIsReloadedWithoutASignal) {
  write_file(mapping_, read_file(mapping_) + "  country: { expression: \"'CA'\", type: string }\n");
  EXPECT_TRUE(eventually([&] { return get("/api/v1/customer/244988").body.find("\"country\":\"CA\"") != std::string::npos; }));
}

TEST_F(OpsTest, InvalidMappingIsRefusedAndTheOldOneKeepsServing) {
  const std::string before = get("/api/v1/customer/244988").body;
  std::string broken = read_file(mapping_);
  broken.replace(broken.find("lname"), 5, "lnmae");
  write_file(mapping_, broken);
  kill(srv_->pid(), SIGHUP);
  EXPECT_TRUE(eventually([&] { return srv_->logs().find("mapping reload refused") != std::string::npos; }));
  const auto logs = srv_->logs();
  EXPECT_NE(logs.find(":9:14: field 'last_name': column 'lnmae' does not exist"), std::string::npos) << logs;
  EXPECT_EQ(get("/api/v1/customer/244988").body, before);
  EXPECT_NE(get("/metrics").body.find(R"(storygate_mapping_reloads_total{result="failed"})"), std::string::npos);
}

TEST_F(OpsTest, ReloadUnderLoadDropsNoRequest) {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      while (!stop) {
        try {
          const auto res = get(ok % 2 ? "/api/v1/customer/244988" : "/api/v1/customers?limit=20");
          (res.status == 200 ? ok : failed)++;
        } catch (const std::exception&) {
          failed++;
        }
      }
    });
  const std::string base = read_file(mapping_);
  for (int i = 0; i < 6; ++i) {
    write_file(mapping_, base + "  generation: { expression: \"" + std::to_string(i) + "\", type: integer }\n");
    kill(srv_->pid(), SIGHUP);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_GT(ok.load(), 100);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_TRUE(eventually([&] { return get("/api/v1/customer/244988").body.find("\"generation\":5") != std::string::npos; }));
}

}  // namespace
}  // namespace storygate::testing
