// A list request whose start is at or past the walk's count gets an empty
// page without the list query running at all (issue 12): a client asking
// past the end must not cost an index scan that skips every row.
//
// Seen in PostgreSQL's own statement log (log_statement = all for this
// test's database, in the test cluster's postgres.log beside its data folder).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>

#include "harness.h"

namespace storygate::testing {
namespace {

// Occurrences of `needle` in `text`.
std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(PastTheEndTest, GetsAnEmptyPageWithoutTheListQuery) {
  scratch_database db(read_file(source_path("tests/integration/fixtures/sync.sql")));
  db.exec("ALTER DATABASE " + db.name() + " SET log_statement = 'all'");
  const auto log_path =
      std::filesystem::path(db.query_value("SHOW data_directory")).parent_path() / "postgres.log";
  ASSERT_TRUE(std::filesystem::exists(log_path)) << log_path;
  server srv({"serve", "--mapping", source_path("tests/integration/fixtures/sync.yaml")},
             {{"STORYGATE_DATABASE_URL", db.url()}, {"STORYGATE_BEARER_TOKENS", test_token}});

  // What the server logged while `target` was answered.
  const auto statements_for = [&](const std::string& target, std::string& body) {
    const auto before = std::filesystem::file_size(log_path);
    const auto res = http_get(srv.port(), target, bearer());
    EXPECT_EQ(res.status, 200u) << res.body;
    body = res.body;
    return read_file(log_path.string()).substr(before);
  };
  std::string body;
  // Within the rows: counted and listed (the control: the log does show the list query).
  auto logged = statements_for("/api/v1/customers?last_updated=2023-01-01T00:00:00Z&start=90&limit=10", body);
  EXPECT_EQ(occurrences(logged, "execute count_since"), 1u) << logged;
  EXPECT_EQ(occurrences(logged, "execute list_since"), 1u) << logged;

  for (const char* start : {"100", "5000"}) {
    logged = statements_for(std::string("/api/v1/customers?last_updated=2023-01-01T00:00:00Z&start=") + start +
                                "&limit=10",
                            body);
    EXPECT_EQ(occurrences(logged, "execute count_since"), 1u) << logged;
    EXPECT_EQ(occurrences(logged, "execute list_"), 0u) << "start=" << start << " ran the list query:\n" << logged;
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    ASSERT_TRUE(doc.IsObject()) << body;
    EXPECT_EQ(doc["count"].GetInt(), 100);
    EXPECT_EQ(std::string(doc["start"].GetString()), start);
    EXPECT_TRUE(doc["records"].GetArray().Empty());
    EXPECT_FALSE(doc.HasMember("next")) << body;
  }
}

}  // namespace
}  // namespace storygate::testing
