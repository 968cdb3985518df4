// Lossless at any scale (issue 15): three storygate replicas behind a real
// HAProxy with `balance roundrobin` (no affinity: each page lands on the
// next replica), a real redis-server as the shared cursor store, and
// DailyStory-like walks (page size 5) while a writer updates, inserts and
// deletes rows between pages.
//
//  - with the store, no row is lost; nor when a replica is killed with
//    SIGKILL mid-walk, nor when every replica is replaced one by one (a
//    rollout: SIGTERM, a new process on the same port);
//  - with Redis stopped mid-walk every request is still answered, the
//    fallback is counted, and once Redis is back pages continue from it
//    within seconds;
//  - without the store, the same walk loses rows: the test can fail.
//
// Ports: redis from 26500, the replicas from 26510, HAProxy from 26540.
// Needs the Debian packages redis-server and haproxy (scripts/install-deps.sh).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <csignal>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include "clusters.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

const std::string since = "2023-01-01T00:00:00Z";
constexpr int page_size = 5;
// Every replica names clients with the same key, so they find each other's
// walks in the store (storygate refuses --cursor-store without one).
const std::string shared_client_key = "0123456789abcdef0123456789abcdef-shared-by-the-replicas";

struct walk_result {
  std::set<int> delivered;
  std::vector<std::string> failures;  // requests not answered 200
  int pages = 0;
};

class SharedCursorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<scratch_database>(read_file(source_path("tests/integration/fixtures/sync.sql")));
    redis_ = std::make_unique<redis_server>(free_port(26500, 10));
    unsigned short next = 26510;
    for (int i = 0; i < 3; ++i) {
      ports_.push_back(free_port(next, 30));
      next = static_cast<unsigned short>(ports_.back() + 1);
    }
  }

  // Replica `i` on its fixed port; `with_store` shares cursors through Redis.
  std::unique_ptr<server> start_replica(std::size_t i) {
    std::vector<std::string> args{"serve", "--mapping", source_path("tests/integration/fixtures/sync.yaml"),
                                  "--port", std::to_string(ports_[i]), "--metrics-access", "loopback"};
    if (with_store_) {
      // Generous for a loaded CI machine under sanitizers; the default is 10 ms.
      args.insert(args.end(), {"--cursor-store", store_url_, "--cursor-store-timeout-ms", "250"});
      if (!password_file_.empty()) args.insert(args.end(), {"--cursor-store-password-file", password_file_});
      if (!ca_file_.empty()) args.insert(args.end(), {"--cursor-store-ca-file", ca_file_});
    }
    return std::make_unique<server>(with_overrides("STORYGATE_SCALEOUT_OVERRIDES", args),
                                    std::map<std::string, std::string>{{"STORYGATE_DATABASE_URL", db_->url()},
                                                                       {"STORYGATE_BEARER_TOKENS", test_token},
                                                                       {"STORYGATE_CLIENT_KEY", shared_client_key}});
  }

  // A Redis that wants a password, or TLS, replacing the open one.
  void replace_redis(const std::string& password, const std::string& tls_cert = "", const std::string& tls_key = "") {
    const auto port = redis_->port();
    redis_.reset();
    redis_ = std::make_unique<redis_server>(port, password, tls_cert, tls_key);
  }

  // Takes every replica and the balancer down, for another start_all().
  void stop_all() {
    replicas_.clear();
    balancer_.reset();
  }

  void start_all(bool with_store) {
    with_store_ = with_store;
    if (store_url_.empty()) store_url_ = redis_->url();
    for (std::size_t i = 0; i < ports_.size(); ++i) replicas_.push_back(start_replica(i));
    balancer_ = std::make_unique<haproxy>(ports_, free_port(26540, 10));
  }

  // Between pages: touch the first row of the page just served (it moves to
  // the end) and one not yet served, delete the page's second row, insert a
  // row. Under OFFSET, each shifts unseen rows into pages already served.
  void churn(int number, const std::vector<int>& page_ids) {
    std::ostringstream sql;
    sql << "UPDATE legacy.members SET changed_at = now() WHERE member_id IN (" << page_ids.at(0) << ", "
        << 95 - number << ");"
        << "DELETE FROM legacy.members WHERE member_id = " << page_ids.at(1) << ";"
        << "INSERT INTO legacy.members (member_id, full_name) VALUES (" << 1000 + number << ", 'new');";
    db_->exec(sql.str());
  }

  // DailyStory's walk through the balancer: start = 0, 5, 10 ... until the
  // count; `between(page_number)` runs after each page's churn.
  template <typename Between>
  walk_result walk(Between between) {
    walk_result result;
    for (int start = 0, number = 0; number < 60; start += page_size, ++number) {
      const auto target = "/api/v1/customers?last_updated=" + since + "&start=" + std::to_string(start) +
                          "&limit=" + std::to_string(page_size);
      const auto res = http_get(balancer_->port(), target, bearer());
      ++result.pages;
      rapidjson::Document doc;
      doc.Parse(res.body.c_str());
      if (res.status != 200 || doc.HasParseError() || !doc.IsObject() || !doc.HasMember("records")) {
        result.failures.push_back(target + " -> " + std::to_string(res.status) + " " + res.body.substr(0, 200));
        continue;  // asked again below at the next start, as a client that gave up on a page would not
      }
      std::vector<int> ids;
      for (const auto& r : doc["records"].GetArray()) ids.push_back(r["id"].GetInt());
      result.delivered.insert(ids.begin(), ids.end());
      if (start + page_size >= doc["count"].GetInt()) break;
      if (churning_) churn(number, ids);
      between(number);
    }
    return result;
  }

  static std::vector<int> lost(const walk_result& result) {
    std::vector<int> out;
    for (int id = 1; id <= 100; ++id)
      if (!result.delivered.count(id)) out.push_back(id);
    return out;
  }

  static std::string list(const std::vector<int>& ids) {
    std::string out;
    for (int id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
    return out;
  }

  // The sum of a metric's samples over every running replica.
  double metric(const std::string& name) const {
    double sum = 0;
    for (const auto& replica : replicas_) {
      if (!replica || !replica->running()) continue;
      std::istringstream text(http_get(replica->port(), "/metrics").body);
      for (std::string line; std::getline(text, line);)
        if (line.rfind(name, 0) == 0 && (line[name.size()] == ' ' || line[name.size()] == '{'))
          sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
  }

  std::string logs() const {
    std::string out = "haproxy:\n" + balancer_->log() + "\nredis:\n" + redis_->log();
    for (const auto& replica : replicas_)
      if (replica) out += "\nreplica:\n" + replica->logs().substr(replica->logs().size() > 3000 ? replica->logs().size() - 3000 : 0);
    return out;
  }

  bool with_store_ = true;
  bool churning_ = true;       // walk() changes the table between pages
  std::string store_url_;      // default: redis_->url()
  std::string password_file_;  // --cursor-store-password-file
  std::string ca_file_;        // --cursor-store-ca-file
  std::unique_ptr<scratch_database> db_;
  std::unique_ptr<redis_server> redis_;
  std::vector<unsigned short> ports_;
  std::vector<std::unique_ptr<server>> replicas_;
  std::unique_ptr<haproxy> balancer_;
};

TEST_F(SharedCursorsTest, RoundRobinAcrossThreeReplicasLosesNothing) {
  start_all(true);
  const auto result = walk([](int) {});
  EXPECT_TRUE(result.failures.empty()) << result.failures.front();
  EXPECT_EQ(lost(result), std::vector<int>{}) << logs();
  // Every page after the first came from the store: a replica rarely served
  // the previous page itself.
  EXPECT_GE(metric("storygate_sync_pages_from_store_total"), result.pages - 1);
  EXPECT_EQ(metric("storygate_cursor_store_errors_total"), 0);
  // One load per follow-on page and one save per page, each timed.
  EXPECT_GE(metric("storygate_cursor_store_duration_seconds_count"), 2.0 * result.pages - 1);
  figure("shared_cursor_walk_pages", result.pages, "pages");
}

TEST_F(SharedCursorsTest, WithoutTheStoreRoundRobinLosesRows) {
  start_all(false);
  const auto result = walk([](int) {});
  EXPECT_TRUE(result.failures.empty()) << result.failures.front();
  const auto missing = lost(result);
  EXPECT_FALSE(missing.empty()) << "round robin without the store lost nothing: the scenario no longer "
                                   "reproduces the loss";
  figure("rows_lost_without_store", static_cast<double>(missing.size()), "rows");
}

TEST_F(SharedCursorsTest, AReplicaKilledMidWalkLosesNothing) {
  start_all(true);
  const auto result = walk([&](int number) {
    if (number == 4) replicas_[1]->stop(SIGKILL);
    if (number == 12) replicas_[1] = start_replica(1);
  });
  EXPECT_TRUE(result.failures.empty()) << result.failures.front() << logs();
  EXPECT_EQ(lost(result), std::vector<int>{}) << logs();
}

TEST_F(SharedCursorsTest, ARollingRestartOfEveryReplicaLosesNothing) {
  start_all(true);
  // One replica replaced every four pages, as a rollout does: SIGTERM (the
  // walks it served are already in the store), then a new process.
  const auto result = walk([&](int number) {
    if (number % 4 != 2 || number / 4 >= 3) return;
    auto& replica = replicas_[static_cast<std::size_t>(number / 4)];
    EXPECT_EQ(replica->stop(SIGTERM), 0);
    replica = start_replica(static_cast<std::size_t>(number / 4));
  });
  EXPECT_TRUE(result.failures.empty()) << result.failures.front() << logs();
  EXPECT_EQ(lost(result), std::vector<int>{}) << logs();
}

TEST_F(SharedCursorsTest, RedisStoppedMidWalkEveryRequestAnsweredAndBackWithinSeconds) {
  start_all(true);
  const auto result = walk([&](int number) {
    if (number == 4) redis_->stop();
  });
  EXPECT_TRUE(result.failures.empty()) << result.failures.front() << logs();
  EXPECT_GT(metric("storygate_cursor_store_errors_total"), 0) << "the fallback was not counted";
  // Logged, but once per replica however many pages failed over (at most one line per 10 s).
  for (const auto& replica : replicas_) {
    const auto text = replica->logs();
    std::size_t warnings = 0;
    for (auto at = text.find("cursor store failed"); at != std::string::npos; at = text.find("cursor store failed", at + 1))
      ++warnings;
    EXPECT_EQ(warnings, 1u) << text;
  }
  EXPECT_GE(metric("storygate_cursor_store_errors_total"), 3) << "fewer failures than replicas";

  redis_->start();
  const auto back = std::chrono::steady_clock::now();
  const double before = metric("storygate_sync_pages_from_store_total");
  // New walks' second pages continue from the store again once each replica
  // has reconnected (it retries every 500 ms).
  const bool recovered = eventually(
      [&] {
        for (int start : {0, page_size}) http_get(balancer_->port(), "/api/v1/customers?last_updated=" + since +
                                                      "&start=" + std::to_string(start) + "&limit=5", bearer());
        return metric("storygate_sync_pages_from_store_total") > before;
      },
      std::chrono::seconds(5));
  EXPECT_TRUE(recovered) << logs();
  EXPECT_TRUE(eventually([&] {
    for (const auto& replica : replicas_)
      if (replica->logs().find("cursor store answers again") != std::string::npos) return true;
    return false;
  }));
  figure("cursor_store_recovery", ms_between(back, std::chrono::steady_clock::now()), "ms");
}

// Credentials as Redis takes them: in the URL (URL-encoded) or from a file.
// With a wrong password nothing is stored, and every page is still answered.
TEST_F(SharedCursorsTest, APasswordProtectedStoreIsUsedWithItsPasswordOnly) {
  replace_redis("s3cret/pw");
  churning_ = false;  // three walks over the same rows; losses are the other tests' concern
  store_url_ = "redis://wrong@127.0.0.1:" + std::to_string(redis_->port());
  start_all(true);
  auto result = walk([](int) {});
  EXPECT_TRUE(result.failures.empty()) << result.failures.front();
  EXPECT_EQ(metric("storygate_sync_pages_from_store_total"), 0);
  EXPECT_GT(metric("storygate_cursor_store_errors_total"), 0);
  stop_all();

  store_url_ = "redis://:s3cret%2Fpw@127.0.0.1:" + std::to_string(redis_->port());
  start_all(true);
  result = walk([](int) {});
  EXPECT_TRUE(result.failures.empty()) << result.failures.front();
  EXPECT_GE(metric("storygate_sync_pages_from_store_total"), result.pages - 1) << logs();
  EXPECT_EQ(metric("storygate_cursor_store_errors_total"), 0);
  stop_all();

  store_url_ = "redis://127.0.0.1:" + std::to_string(redis_->port());
  password_file_ = write_temp_file("redis-password", "s3cret/pw\n", 0600);
  start_all(true);
  result = walk([](int) {});
  EXPECT_TRUE(result.failures.empty()) << result.failures.front();
  EXPECT_GE(metric("storygate_sync_pages_from_store_total"), result.pages - 1) << logs();
  // The password is never written to the log.
  for (const auto& replica : replicas_) EXPECT_EQ(replica->logs().find("s3cret"), std::string::npos);
}

// rediss://: TLS to Redis, the server verified by the CA file given (here
// its self-signed certificate, for "localhost"). Without that CA file the
// server is not trusted: nothing is stored, and every page is still answered.
TEST_F(SharedCursorsTest, ATlsStoreIsUsedWhenItsCertificateIsTrustedOnly) {
  const test_certificate tls;
  replace_redis("", tls.cert, tls.key);
  churning_ = false;
  start_all(true);  // the system's CA certificates: the self-signed one is not among them
  auto result = walk([](int) {});
  EXPECT_TRUE(result.failures.empty()) << result.failures.front();
  EXPECT_EQ(metric("storygate_sync_pages_from_store_total"), 0);
  EXPECT_GT(metric("storygate_cursor_store_errors_total"), 0);
  stop_all();

  ca_file_ = tls.cert;
  start_all(true);
  result = walk([](int) {});
  EXPECT_TRUE(result.failures.empty()) << result.failures.front();
  EXPECT_GE(metric("storygate_sync_pages_from_store_total"), result.pages - 1) << logs();
  EXPECT_EQ(metric("storygate_cursor_store_errors_total"), 0);
}

}  // namespace
}  // namespace storygate::testing

namespace storygate::testing {
namespace {

TEST(SharedCursorsStartUp, AStoreWithoutASharedClientKeyIsRefused) {
  const auto r = run_storygate({"serve", "--mapping", source_path("mappings/demo.yaml"), "--listen", "127.0.0.1",
                                "--port", "0", "--cursor-store", "redis://127.0.0.1:1"},
                               {{"STORYGATE_DATABASE_URL", admin_url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--cursor-store needs the key that names clients"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace storygate::testing
