// db::pool against the test cluster, driven on an io_context of the test's
// own: queries that wait for a busy connection leave together in one batch,
// one waiting past the pool wait fails as busy, a statement timeout ends its
// own query alone, and a server that cannot be reached fails as unavailable.
#include "db/pool.h"
#include "db/conninfo.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <functional>
#include <string>
#include <vector>

#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

using namespace std::chrono_literals;
using db::answer;
using db::failure;
using db::query_result;

constexpr std::size_t sleep_statement = 0, echo_statement = 1;

class PoolTest : public ::testing::Test {
 protected:
  static std::shared_ptr<const db::statement_set> statements() {
    auto set = std::make_shared<db::statement_set>();
    set->generation = 1;
    set->time_zone = "UTC";
    set->names = {"pool_test_sleep_g1", "pool_test_echo_g1"};
    set->sql = {"SELECT pg_sleep($1::float8)::text", "SELECT ($1::int + 1)::text"};
    return set;
  }

  // The pool takes a libpq connection string as the server builds it (its
  // health checks add their own application_name to it).
  db::pool_options options(unsigned size, const std::string& conninfo = db::build_conninfo(admin_url(), {})) {
    db::pool_options o;
    o.conninfo = conninfo;
    o.size = size;
    o.wait = 2000ms;
    o.statement_timeout = 5000ms;
    o.connect_timeout = 2000ms;
    return o;
  }

  // What one query came back with, once it has.
  struct outcome {
    bool done = false;
    std::optional<failure> failed;
    std::string value;
    std::chrono::steady_clock::time_point at{};
  };

  void run(db::pool& pool, std::size_t statement, std::string param, outcome& out) {
    pool.run({set_, statement, {std::move(param)}, {}}, [&out](answer a) {
      out.done = true;
      out.at = std::chrono::steady_clock::now();
      if (auto* f = std::get_if<failure>(&a))
        out.failed = *f;
      else
        out.value = std::string(std::get<query_result>(a).value(0, 0));
    });
  }

  // One query answered: the connection is open, and the next queries
  // find it idle rather than opening.
  void warm_up(db::pool& pool) {
    outcome warm;
    run(pool, echo_statement, "0", warm);
    run_until([&] { return warm.done; });
    ASSERT_FALSE(warm.failed);
  }

  // Runs the io_context until `done` holds (or 20 s pass).
  void run_until(const std::function<bool()>& done) {
    const auto limit = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < limit) {
      io_.restart();
      io_.run_for(10ms);
    }
    ASSERT_TRUE(done()) << "not done within 20 s";
  }

  boost::asio::io_context io_;
  std::shared_ptr<const db::statement_set> set_ = statements();
};

TEST_F(PoolTest, QueriesThatWaitForABusyConnectionLeaveTogetherInOneBatch) {
  db::pool pool(options(1), {io_.get_executor()});
  ASSERT_NO_FATAL_FAILURE(warm_up(pool));

  outcome slow;
  run(pool, sleep_statement, "0.3", slow);
  std::vector<outcome> waiting(10);
  for (std::size_t i = 0; i < waiting.size(); ++i) run(pool, echo_statement, std::to_string(i), waiting[i]);
  run_until([&] { return slow.done && std::all_of(waiting.begin(), waiting.end(), [](auto& o) { return o.done; }); });

  EXPECT_FALSE(slow.failed);
  for (std::size_t i = 0; i < waiting.size(); ++i) {
    EXPECT_FALSE(waiting[i].failed) << i;
    EXPECT_EQ(waiting[i].value, std::to_string(i + 1)) << "answers went to the wrong query";
    EXPECT_GE(waiting[i].at, slow.at) << "a waiting query was answered before the batch ahead of it";
  }
  const auto stats = pool.snapshot();
  EXPECT_EQ(stats.queries, 12u);
  // The warm-up, the slow query, then the ten that waited for it: one batch.
  EXPECT_EQ(stats.batches, 3u);
  EXPECT_EQ(stats.connected, 1u);
  pool.drain();
}

TEST_F(PoolTest, AQueryWaitingPastThePoolWaitFailsAsBusy) {
  auto o = options(1);
  o.wait = 200ms;
  db::pool pool(o, {io_.get_executor()});
  // Open first: queries that arrive while the connection is still opening
  // share its first batch, waiting for nobody.
  ASSERT_NO_FATAL_FAILURE(warm_up(pool));
  outcome slow, next;
  run(pool, sleep_statement, "1", slow);
  const auto asked = std::chrono::steady_clock::now();
  run(pool, echo_statement, "1", next);
  run_until([&] { return slow.done && next.done; });
  EXPECT_FALSE(slow.failed);
  ASSERT_TRUE(next.failed);
  EXPECT_EQ(*next.failed, failure::busy);
  EXPECT_GE(next.at - asked, 190ms);
  EXPECT_LT(next.at - asked, 900ms) << "the busy answer waited for the slow query";
  pool.drain();
}

TEST_F(PoolTest, AStatementTimeoutEndsItsOwnQueryAndTheConnectionServesOn) {
  auto o = options(1);
  o.statement_timeout = 200ms;
  db::pool pool(o, {io_.get_executor()});
  outcome slow, after;
  run(pool, sleep_statement, "2", slow);
  run(pool, echo_statement, "41", after);
  run_until([&] { return slow.done && after.done; });
  ASSERT_TRUE(slow.failed);
  EXPECT_EQ(*slow.failed, failure::timed_out);
  EXPECT_FALSE(after.failed);
  EXPECT_EQ(after.value, "42");
  EXPECT_EQ(pool.snapshot().connected, 1u) << "the connection was dropped for a timeout";
  pool.drain();
}

// The queries that waited leave in one batch closed by one Sync: one write,
// one implicit transaction on the server. Each must still be held to the
// statement timeout on its own (PostgreSQL restarts it at every Execute),
// and one that fails must end alone: the others, skipped by the server,
// are sent again. Run on every major (the server decides both).
TEST_F(PoolTest, EveryQueryOfABatchHasItsOwnStatementTimeoutAndFailsAlone) {
  auto o = options(1);
  o.statement_timeout = 700ms;
  db::pool pool(o, {io_.get_executor()});
  ASSERT_NO_FATAL_FAILURE(warm_up(pool));

  outcome ahead;
  run(pool, sleep_statement, "0.1", ahead);
  // Four of 0.3 s in one batch: 1.2 s in all, past the timeout, each within it.
  std::vector<outcome> sleepers(4);
  for (auto& each : sleepers) run(pool, sleep_statement, "0.3", each);
  run_until([&] { return std::all_of(sleepers.begin(), sleepers.end(), [](auto& x) { return x.done; }); });
  for (std::size_t i = 0; i < sleepers.size(); ++i)
    EXPECT_FALSE(sleepers[i].failed) << "query " << i << " of the batch failed as "
                                     << db::describe(*sleepers[i].failed);
  EXPECT_EQ(pool.snapshot().batches, 3u) << "the four did not leave together";

  // One past the timeout between two that are not: it alone fails.
  outcome ahead2, before, too_slow, after;
  run(pool, sleep_statement, "0.1", ahead2);
  run(pool, echo_statement, "1", before);
  run(pool, sleep_statement, "2", too_slow);
  run(pool, echo_statement, "2", after);
  run_until([&] { return before.done && too_slow.done && after.done; });
  EXPECT_FALSE(before.failed);
  EXPECT_EQ(before.value, "2");
  ASSERT_TRUE(too_slow.failed);
  EXPECT_EQ(*too_slow.failed, failure::timed_out);
  EXPECT_FALSE(after.failed) << "a query was failed by another in its batch";
  EXPECT_EQ(after.value, "3");
  pool.drain();
}

// Two shards (two strands here). A query that found no connection free
// waits on one shard behind a slow query; when the other shard's
// connection comes free first, the query moves there and is answered then,
// not after the slow one (nor failed as busy at the pool wait).
TEST_F(PoolTest, AQueryWaitingOnOneShardIsTakenByAnotherShardsConnectionThatComesFreeFirst) {
  auto o = options(2);
  o.wait = 1500ms;
  db::pool pool(o, {boost::asio::make_strand(io_), boost::asio::make_strand(io_)});
  run_until([&] { return pool.snapshot().connected == 2; });

  outcome slow, short_one, waiting;
  run(pool, sleep_statement, "3", slow);         // one shard's connection
  run(pool, sleep_statement, "0.3", short_one);  // the other's
  run_until([&] { return pool.snapshot().busy == 2; });
  const auto asked = std::chrono::steady_clock::now();
  run(pool, echo_statement, "7", waiting);  // none free: waits on a shard
  run_until([&] { return waiting.done; });
  ASSERT_FALSE(waiting.failed) << "failed as " << db::describe(*waiting.failed);
  EXPECT_EQ(waiting.value, "8");
  EXPECT_LT(waiting.at - asked, 1000ms) << "the waiting query stayed behind the slow one";
  run_until([&] { return slow.done && short_one.done; });
  EXPECT_GE(waiting.at, short_one.at);
  pool.drain();
}

// Every open connection killed behind the pool's back (pg_terminate_backend,
// before it could notice): a query meets one dead connection, then the
// other shard's, and is answered on a fresh one. Neither death says the
// server is gone, so nothing fails as unavailable meanwhile.
TEST_F(PoolTest, AQueryPassesOverEveryConnectionKilledWhileOpenAndIsAnswered) {
  db::pool pool(options(2), {boost::asio::make_strand(io_), boost::asio::make_strand(io_)});
  run_until([&] { return pool.snapshot().connected == 2; });
  const auto killed = query(admin_url(),
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND application_name = 'storygate' "
                            "AND pid <> pg_backend_pid()");
  ASSERT_EQ(killed, "2");
  std::vector<outcome> after(3);
  for (std::size_t i = 0; i < after.size(); ++i) run(pool, echo_statement, std::to_string(i), after[i]);
  run_until([&] { return std::all_of(after.begin(), after.end(), [](auto& o) { return o.done; }); });
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_FALSE(after[i].failed) << i << " failed as " << db::describe(*after[i].failed);
    EXPECT_EQ(after[i].value, std::to_string(i + 1));
  }
  pool.drain();
}

TEST_F(PoolTest, AServerThatCannotBeReachedFailsAsUnavailable) {
  db::pool pool(options(2, "host=127.0.0.1 port=1"), {io_.get_executor()});
  outcome first;
  run(pool, echo_statement, "1", first);
  run_until([&] { return first.done; });
  ASSERT_TRUE(first.failed);
  EXPECT_EQ(*first.failed, failure::unavailable);
  pool.drain();
}

TEST_F(PoolTest, ADrainedPoolFailsAtOnce) {
  db::pool pool(options(1), {io_.get_executor()});
  pool.drain();
  outcome late;
  run(pool, echo_statement, "1", late);
  EXPECT_TRUE(late.done);
  ASSERT_TRUE(late.failed);
  EXPECT_EQ(*late.failed, failure::unavailable);
}

}  // namespace
}  // namespace storygate::testing
