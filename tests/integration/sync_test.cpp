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
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

namespace storygate::testing {
namespace {

struct page {
  int count = 0;
  std::vector<int> ids;
};

page fetch(unsigned short port, const std::string& since, int start, int limit) {
  const auto res = http_get(port, "/api/v1/customers?last_updated=" + since + "&start=" +
                                      std::to_string(start) + "&limit=" + std::to_string(limit),
                            bearer());
  EXPECT_EQ(res.status, 200u) << res.body;
  rapidjson::Document doc;
  doc.Parse(res.body.c_str());
  page p;
  p.count = doc["count"].GetInt();
  for (const auto& r : doc["records"].GetArray()) p.ids.push_back(r["id"].GetInt());
  return p;
}

enum class stop_rule { at_count, at_short_page };

// Walks like DailyStory: start = 0, limit, 2*limit, ... until `rule` says
// done. Between pages, `meddle(page_number, ids_so_far)` changes the table.
template <typename Meddle>
std::set<int> walk(unsigned short port, stop_rule rule, Meddle meddle) {
  std::set<int> delivered;
  const int limit = 10;
  for (int start = 0, number = 0;; start += limit, ++number) {
    const page p = fetch(port, "2023-01-01T00:00:00Z", start, limit);
    delivered.insert(p.ids.begin(), p.ids.end());
    const bool done = rule == stop_rule::at_count ? start + limit >= p.count
                                                  : static_cast<int>(p.ids.size()) < limit;
    if (done || number > 50) break;
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
                         ::testing::Values(stop_rule::at_count, stop_rule::at_short_page),
                         [](const auto& param_info) {
                           return param_info.param == stop_rule::at_count ? std::string("StopAtCount")
                                                                    : std::string("StopAtShortPage");
                         });

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
