// A paged sync must deliver every row that qualified when it began, while
// other rows are updated, inserted and deleted between its pages; and rows a
// long transaction commits late must reach the next sync.
//
// Each scenario also runs against a server configured to lose (no keyset
// cursors: plain OFFSET; no overlap window), and asserts that it does lose,
// so the test is shown to catch what it guards against.
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <rapidjson/document.h>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

namespace storygate::testing {
namespace {

struct page {
  int count = 0;
  std::vector<int> ids;
  std::optional<std::string> next;  // the body's "next" link
};

std::string page_target(const std::string& since, int start, int limit) {
  return "/api/v1/customers?last_updated=" + since + "&start=" + std::to_string(start) +
         "&limit=" + std::to_string(limit);
}

page fetch_target(unsigned short port, const std::string& target) {
  const auto res = http_get(port, target, bearer());
  EXPECT_EQ(res.status, 200u) << res.body;
  rapidjson::Document doc;
  doc.Parse(res.body.c_str());
  page p;
  p.count = doc["count"].GetInt();
  for (const auto& r : doc["records"].GetArray()) p.ids.push_back(r["id"].IsInt() ? r["id"].GetInt() : -1);
  if (doc.HasMember("next")) p.next = doc["next"].GetString();
  // The Link header and the body's link always agree.
  EXPECT_EQ(res.header("link"), p.next ? "<" + *p.next + ">; rel=\"next\"" : "") << target;
  return p;
}

page fetch(unsigned short port, const std::string& since, int start, int limit) {
  return fetch_target(port, page_target(since, start, limit));
}

// How a client knows a sync is done: DailyStory stops at the count or at a
// short page; a client following links stops when there is no next one.
enum class stop_rule { at_count, at_short_page, follow_next };

// Walks like DailyStory (start = 0, limit, 2*limit, ...) or by following
// `next` until `rule` says done. Between pages, `meddle(page_number)`
// changes the table.
template <typename Meddle>
std::set<int> walk(unsigned short port, stop_rule rule, Meddle meddle) {
  std::set<int> delivered;
  const int limit = 10;
  const std::string since = "2023-01-01T00:00:00Z";
  std::string target = page_target(since, 0, limit);
  for (int start = 0, number = 0;; start += limit, ++number) {
    const page p = fetch_target(port, target);
    delivered.insert(p.ids.begin(), p.ids.end());
    const bool done = rule == stop_rule::at_count        ? start + limit >= p.count
                      : rule == stop_rule::at_short_page ? static_cast<int>(p.ids.size()) < limit
                                                         : !p.next;
    if (done || number > 50) break;
    target = rule == stop_rule::follow_next ? *p.next : page_target(since, start + limit, limit);
    meddle(number);
  }
  return delivered;
}

class SyncTest : public ::testing::TestWithParam<stop_rule> {
 protected:
  void SetUp() override { db_ = std::make_unique<scratch_database>(read_file(source_path("tests/integration/fixtures/sync.sql"))); }

  std::unique_ptr<server> start_server(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"serve", "--mapping", source_path("tests/integration/fixtures/sync.yaml")};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<server>(args, std::map<std::string, std::string>{
                                              {"STORYGATE_DATABASE_URL", db_->url()},
                                              {"STORYGATE_BEARER_TOKENS", test_token}});
  }

  // Between pages: touch a row already delivered (it moves to the end and,
  // under OFFSET, shifts an unseen row into a page already served), touch a
  // row not yet delivered, insert one and delete one.
  void churn(int page_number) {
    const int seen = 1 + page_number * 10;  // first row of the page just served
    const int unseen = 95 - page_number;
    db_->exec("UPDATE legacy.members SET changed_at = now() WHERE member_id IN (" + std::to_string(seen) +
              ", " + std::to_string(unseen) + ");"
              "INSERT INTO legacy.members (member_id, full_name) VALUES (" + std::to_string(1000 + page_number) +
              ", 'new');"
              "DELETE FROM legacy.members WHERE member_id = " + std::to_string(2000 + page_number));
  }

  static std::vector<int> missing(const std::set<int>& qualified, const std::set<int>& delivered) {
    std::vector<int> out;
    for (int id : qualified)
      if (!delivered.count(id)) out.push_back(id);
    return out;
  }

  std::set<int> all_ids() const {
    std::set<int> ids;
    for (int n = 1; n <= 100; ++n) ids.insert(n);
    return ids;
  }

  std::unique_ptr<scratch_database> db_;
};

TEST_P(SyncTest, NaiveOffsetPagingLosesRows) {
  auto srv = start_server({"--sync-cursor-limit", "0"});  // no cursors: OFFSET every page
  const auto delivered = walk(srv->port(), GetParam(), [this](int n) { churn(n); });
  EXPECT_FALSE(missing(all_ids(), delivered).empty())
      << "OFFSET paging lost nothing: the scenario no longer reproduces the loss";
}

TEST_P(SyncTest, KeysetPagingLosesNothing) {
  auto srv = start_server({});
  const auto delivered = walk(srv->port(), GetParam(), [this](int n) { churn(n); });
  const auto lost = missing(all_ids(), delivered);
  EXPECT_TRUE(lost.empty()) << "lost " << lost.size() << " rows, first " << lost.front();
  // Rows inserted during the sync were stamped after it began: delivered too.
  EXPECT_TRUE(delivered.count(1000));
}

TEST_P(SyncTest, CountStaysRightAndWalkResumesAfterRestart) {
  auto srv = start_server({});
  EXPECT_EQ(fetch(srv->port(), "2023-01-01T00:00:00Z", 0, 10).count, 100);
  // A new server knows no cursor: it falls back to OFFSET and still answers.
  srv = start_server({});
  const page p = fetch(srv->port(), "2023-01-01T00:00:00Z", 10, 10);
  EXPECT_EQ(p.count, 100);
  EXPECT_EQ(p.ids.front(), 11);
  // ...and continues with a cursor from there on.
  const page next = fetch(srv->port(), "2023-01-01T00:00:00Z", 20, 10);
  EXPECT_EQ(next.ids.front(), 21);
}

INSTANTIATE_TEST_SUITE_P(StopRules, SyncTest,
                         ::testing::Values(stop_rule::at_count, stop_rule::at_short_page,
                                           stop_rule::follow_next),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case stop_rule::at_count: return std::string("StopAtCount");
                             case stop_rule::at_short_page: return std::string("StopAtShortPage");
                             case stop_rule::follow_next: break;
                           }
                           return std::string("FollowNextLinks");
                         });

// A client that did not get a page (a timeout, a dropped connection) asks
// for it again. Meanwhile a row it has seen changed and moved to the end: by
// OFFSET the repeated page would start one row late, and the row it skipped
// would never be sent. The repeat resumes from the same key instead.
TEST(RepeatedPageTest, IsServedFromTheSameKey) {
  scratch_database db(read_file(source_path("tests/integration/fixtures/sync.sql")));
  server srv({"serve", "--mapping", source_path("tests/integration/fixtures/sync.yaml")},
             {{"STORYGATE_DATABASE_URL", db.url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  const std::string since = "2023-01-01T00:00:00Z";
  std::set<int> delivered;
  for (int start : {0, 10}) {
    const page p = fetch(srv.port(), since, start, 10);
    delivered.insert(p.ids.begin(), p.ids.end());
  }
  const page lost = fetch(srv.port(), since, 20, 10);  // its answer never reaches the client
  EXPECT_EQ(lost.ids.front(), 21);
  db.exec("UPDATE legacy.members SET changed_at = now() WHERE member_id = 5");
  const page again = fetch(srv.port(), since, 20, 10);
  EXPECT_EQ(again.ids, lost.ids);
  delivered.insert(again.ids.begin(), again.ids.end());
  for (int start = 30;; start += 10) {
    const page p = fetch(srv.port(), since, start, 10);
    delivered.insert(p.ids.begin(), p.ids.end());
    if (p.ids.size() < 10 || start > 200) break;
  }
  EXPECT_EQ(delivered.size(), 100u);
  EXPECT_TRUE(eventually([&] { return srv.logs().find(R"("msg":"sync finished")") != std::string::npos; }));
  const auto logs = srv.logs();
  EXPECT_NE(logs.find(R"("offset_pages":0)"), std::string::npos) << logs;
  EXPECT_EQ(logs.find(R"("msg":"sync abandoned")"), std::string::npos) << logs;
}

// A record without an id cannot be synced: it is neither listed nor counted,
// so a client stopping at `count` or at a short page still gets every other
// row, on keyset and on OFFSET pages alike.
TEST(RowsWithoutIdTest, AreNeitherListedNorCounted) {
  scratch_database db(read_file(source_path("tests/integration/fixtures/sync.sql")) +
                      "ALTER TABLE legacy.members DROP CONSTRAINT members_pkey, ALTER member_id DROP NOT NULL;"
                      "INSERT INTO legacy.members (member_id, full_name, changed_at)"
                      "  SELECT NULL, 'no id', timestamptz '2023-01-01 00:00:00+00' + n * interval '1 hour'"
                      "  FROM generate_series(0, 10) AS n;");
  server srv({"serve", "--mapping", source_path("tests/integration/fixtures/sync.yaml")},
             {{"STORYGATE_DATABASE_URL", db.url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  std::set<int> delivered;
  int pages = 0;
  for (int start = 0;; start += 10, ++pages) {
    const page p = fetch(srv.port(), "2023-01-01T00:00:00Z", start, 10);
    EXPECT_EQ(p.count, 100);
    delivered.insert(p.ids.begin(), p.ids.end());
    if (p.ids.size() < 10 || pages > 20) break;
  }
  EXPECT_EQ(delivered.size(), 100u);
  EXPECT_EQ(pages, 10);  // ten full pages, then an empty one
  // An OFFSET page (a server that knows no walk) skips them too.
  server fresh({"serve", "--mapping", source_path("tests/integration/fixtures/sync.yaml")},
               {{"STORYGATE_DATABASE_URL", db.url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  const page deep = fetch(fresh.port(), "2023-01-01T00:00:00Z", 50, 10);
  EXPECT_EQ(deep.ids, (std::vector<int>{51, 52, 53, 54, 55, 56, 57, 58, 59, 60}));
}

// The link carries last_updated as the server read it, percent-encoded: an
// offset's '+' arrives as a '+', not as a space, and the walk it continues
// is the same one (so it resumes by keyset, not OFFSET).
TEST(NextLinkTest, KeepsTheOffsetAndContinuesTheSameWalk) {
  scratch_database db(read_file(source_path("tests/integration/fixtures/sync.sql")));
  server srv({"serve", "--mapping", source_path("tests/integration/fixtures/sync.yaml")},
             {{"STORYGATE_DATABASE_URL", db.url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  const page first = fetch(srv.port(), "2023-01-01T05:30:00%2B05:30", 0, 40);
  ASSERT_TRUE(first.next);
  EXPECT_EQ(*first.next, "/api/v1/customers?last_updated=2023-01-01%2005%3A30%3A00%2B05%3A30&start=40&limit=40");
  const page second = fetch_target(srv.port(), *first.next);
  EXPECT_EQ(second.ids.front(), first.ids.back() + 1);
  ASSERT_TRUE(second.next);
  const page last = fetch_target(srv.port(), *second.next);
  EXPECT_EQ(last.ids.size(), 20u);
  EXPECT_FALSE(last.next);
  // Served by keyset: the walk's summary counts no OFFSET page after the first.
  EXPECT_TRUE(eventually([&] { return srv.logs().find(R"("offset_pages":0)") != std::string::npos; }))
      << srv.logs();
}

// A long transaction stamps a row, a sync reads past that time without seeing
// it (not committed yet), then it commits. The next sync asks from the time
// the previous one ran.
class LateCommitTest : public ::testing::Test {
 protected:
  // Returns whether the late row reached the second sync.
  static bool late_row_delivered(const std::vector<std::string>& extra) {
    scratch_database db(read_file(source_path("tests/integration/fixtures/sync.sql")));
    std::vector<std::string> args{"serve", "--mapping", source_path("tests/integration/fixtures/sync.yaml")};
    args.insert(args.end(), extra.begin(), extra.end());
    server srv(args, {{"STORYGATE_DATABASE_URL", db.url()}, {"STORYGATE_BEARER_TOKENS", test_token}});

    pqxx::connection writer(db.url());
    pqxx::work slow(writer);
    slow.exec("INSERT INTO legacy.members (member_id, full_name) VALUES (555, 'late')");  // stamped now()
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));

    // DailyStory's first sync: notes the time, reads everything.
    const std::string sync_time = db.query_value(
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    const page first = fetch(srv.port(), "2023-01-01T00:00:00Z", 0, 1000);
    EXPECT_EQ(std::count(first.ids.begin(), first.ids.end(), 555), 0) << "uncommitted row visible";
    slow.commit();

    const page second = fetch(srv.port(), sync_time, 0, 1000);
    return std::count(second.ids.begin(), second.ids.end(), 555) == 1;
  }
};

TEST_F(LateCommitTest, WithoutOverlapTheLateRowIsLost) {
  EXPECT_FALSE(late_row_delivered({"--sync-overlap-seconds", "0"}));
}

TEST_F(LateCommitTest, OverlapWindowDeliversTheLateRow) {
  EXPECT_TRUE(late_row_delivered({"--sync-overlap-seconds", "30"}));
}

}  // namespace
}  // namespace storygate::testing
