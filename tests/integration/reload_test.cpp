// A mapping is accepted only if it can serve: at start-up, in `check` and on
// every reload, the statements of both endpoints are prepared on the database
// as the server runs them. A reload never makes things worse: a refused one
// leaves the previous mapping serving and /readyz ready, and a file still
// being written is read only once it has stopped changing.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

// Each field right on its own, yet the statements cannot run: an aggregate
// without GROUP BY next to the row's own columns.
const std::string aggregate_field = "  n: { expression: \"count(*)\", type: integer }\n";

std::map<std::string, std::string> env_for(const scratch_database& db) {
  return {{"STORYGATE_DATABASE_URL", db.url()}, {"STORYGATE_BEARER_TOKENS", test_token}};
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ReloadTest : public core_database_suite {};

TEST_F(ReloadTest, AMappingWhoseStatementsCannotRunIsRefusedAtStartUpAndByCheck) {
  const auto mapping = mapping_with(aggregate_field, "aggregate.yaml");
  for (const char* command : {"serve", "check"}) {
    const auto r = run_storygate({command, "--mapping", mapping, "--port", "0"}, env_for(*db_));
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.output;
    EXPECT_NE(r.output.find("aggregate.yaml: the mapping's by_id query does not run on the database: "
                            "column \"customer.cust_no\" must appear in the GROUP BY clause"),
              std::string::npos)
        << command << ": " << r.output;
    EXPECT_EQ(r.output.find("LINE 1"), std::string::npos) << "PostgreSQL's echo of our SQL leaked: " << r.output;
  }
}

TEST_F(ReloadTest, AReloadThatCannotServeIsRefusedAndTheOldMappingKeepsServing) {
  const auto mapping = mapping_with("", "serving.yaml");
  server srv({"serve", "--mapping", mapping}, env_for(*db_));
  const auto before = http_get(srv.port(), "/api/v1/customer/244988", bearer());
  ASSERT_EQ(before.status, 200u) << before.body;

  std::ofstream(mapping, std::ios::app) << aggregate_field;
  kill(srv.pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return srv.logs().find("mapping reload refused") != std::string::npos; }))
      << srv.logs();
  EXPECT_NE(srv.logs().find("must appear in the GROUP BY clause"), std::string::npos) << srv.logs();
  EXPECT_EQ(srv.logs().find("\"msg\":\"mapping reloaded\""), std::string::npos) << srv.logs();

  const auto one = http_get(srv.port(), "/api/v1/customer/244988", bearer());
  EXPECT_EQ(one.status, 200u) << one.body;
  EXPECT_EQ(one.body, before.body);
  const auto page = http_get(srv.port(), "/api/v1/customers?limit=5", bearer());
  EXPECT_EQ(page.status, 200u) << page.body;
  EXPECT_EQ(http_get(srv.port(), "/readyz").status, 200u);
  EXPECT_NE(http_get(srv.port(), "/metrics", bearer()).body.find(R"(storygate_mapping_reloads_total{result="failed"} 1)"),
            std::string::npos);
}

// The file is appended to in small pieces, 150 ms apart, for about three
// seconds: longer than the reloader's poll, so a poll falls in the middle.
// Every piece but the last leaves an unclosed { ... }, which would be refused.
TEST_F(ReloadTest, AFileStillBeingWrittenIsReadOnlyOnceItStopsChanging) {
  const auto mapping = mapping_with("", "slow-write.yaml");
  server srv({"serve", "--mapping", mapping}, env_for(*db_));
  ASSERT_EQ(http_get(srv.port(), "/api/v1/customer/244988", bearer()).status, 200u);

  const std::string field = "  country: { expression: \"upper('us') || ''\", type: string }\n";
  const std::size_t pieces = 20;
  const std::size_t piece = (field.size() + pieces - 1) / pieces;
  for (std::size_t at = 0; at < field.size(); at += piece) {
    {
      std::ofstream out(mapping, std::ios::app);
      out << field.substr(at, piece);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  ASSERT_TRUE(eventually([&] {
    return http_get(srv.port(), "/api/v1/customer/244988", bearer()).body.find("\"country\":\"US\"") !=
           std::string::npos;
  })) << srv.logs();
  const auto logs = srv.logs();
  EXPECT_EQ(logs.find("mapping reload refused"), std::string::npos) << "a half-written file was read:\n" << logs;
  EXPECT_EQ(occurrences(logs, "\"msg\":\"mapping reloaded\""), 1u) << logs;
}

}  // namespace
}  // namespace storygate::testing
