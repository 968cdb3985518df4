// db::pipeline_connection against the test cluster: non-blocking libpq on an
// io_context, many queries per round trip, an error that ends its own query
// alone, and a connection that dies under its queries.
#include "db/pipeline_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <pqxx/pqxx>
#include <random>

#include "harness.h"

namespace storygate::testing {
namespace {

using db::pipeline_connection;
using db::query_result;

class PipelineConnectionTest : public ::testing::Test {
 protected:
  // Opens a connection to the test cluster; fails the test when it cannot.
  std::shared_ptr<pipeline_connection> open(const std::string& conninfo = admin_url()) {
    std::shared_ptr<pipeline_connection> opened;
    std::string error = "not answered";
    pipeline_connection::open(io_.get_executor(), conninfo, [&](auto connection, std::string reason) {
      opened = std::move(connection);
      error = std::move(reason);
    });
    run_until([&] { return opened || error != "not answered"; });
    EXPECT_TRUE(opened) << error;
    return opened;
  }

  // Runs the io_context until `done` holds (or 20 s pass).
  void run_until(const std::function<bool()>& done) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done() && std::chrono::steady_clock::now() < limit) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(done()) << "not done within 20 s";
  }

  boost::asio::io_context io_;
};

TEST_F(PipelineConnectionTest, AnswersAQueryWithParameters) {
  auto connection = open();
  ASSERT_TRUE(connection);
  std::optional<query_result> answer;
  connection->execute("SELECT $1::int + 1, $2::text IS NULL", {"41", std::nullopt},
                      [&](query_result r) { answer = std::move(r); });
  run_until([&] { return answer.has_value(); });
  ASSERT_TRUE(answer->ok()) << answer->error();
  ASSERT_EQ(answer->rows(), 1);
  EXPECT_EQ(answer->value(0, 0), "42");
  EXPECT_EQ(answer->value(0, 1), "t");
  EXPECT_GE(connection->server_version(), 100000);
}

TEST_F(PipelineConnectionTest, ManyQueriesShareASendAndEachGetsItsOwnAnswer) {
  auto connection = open();
  ASSERT_TRUE(connection);
  bool prepared = false;
  connection->prepare("twice", "SELECT $1::bigint * 2", [&](query_result r) { prepared = r.ok(); });
  const unsigned seed = 14;
  std::mt19937_64 random(seed);
  const int count = 500;
  std::vector<long long> sent(count);
  std::vector<std::optional<std::string>> answers(count);
  for (int i = 0; i < count; ++i) {
    sent[i] = static_cast<long long>(random() % 1000000000);
    connection->execute_prepared("twice", {std::to_string(sent[i])}, [&answers, i](query_result r) {
      answers[i] = r.ok() ? std::string(r.value(0, 0)) : "error: " + r.error();
    });
  }
  EXPECT_EQ(connection->in_flight(), static_cast<std::size_t>(count + 1));
  run_until([&] { return connection->in_flight() == 0; });
  EXPECT_TRUE(prepared);
  for (int i = 0; i < count; ++i) ASSERT_EQ(answers[i], std::to_string(sent[i] * 2)) << "query " << i << ", seed " << seed;
  // Queued in one turn: one batch, one Sync, a handful of writes at most
  // (the socket takes 500 small messages at once), not one per query.
  EXPECT_EQ(connection->counted().queries, static_cast<uint64_t>(count + 1));
  EXPECT_LE(connection->counted().sends, 3u);
  EXPECT_LT(connection->counted().reads, static_cast<uint64_t>(count / 5));
}

TEST_F(PipelineConnectionTest, AnErrorEndsItsOwnQueryAloneEvenInTheSameBatch) {
  auto connection = open();
  ASSERT_TRUE(connection);
  std::vector<std::optional<query_result>> answers(5);
  const char* statements[] = {"SELECT 1", "SELECT 2", "SELECT 1/0", "SELECT 4", "SELECT 5"};
  for (int i = 0; i < 5; ++i)
    connection->execute(statements[i], {}, [&answers, i](query_result r) { answers[i] = std::move(r); });
  run_until([&] { return connection->in_flight() == 0; });
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(answers[i]) << statements[i];
    if (i == 2) {
      EXPECT_FALSE(answers[i]->ok());
      EXPECT_EQ(answers[i]->sqlstate(), "22012");  // division_by_zero
      EXPECT_FALSE(answers[i]->connection_lost());
    } else {
      ASSERT_TRUE(answers[i]->ok()) << statements[i] << ": " << answers[i]->error();
      EXPECT_EQ(answers[i]->value(0, 0), std::to_string(i + 1));
    }
  }
  EXPECT_FALSE(connection->broken());
}

// A query that asks for its rows as they come gets them one at a time
// (single-row mode), whether it opens the pipeline, follows another query's
// answer, or is sent again after an error skipped it; a query beside it
// that did not ask gets its answer whole.
TEST_F(PipelineConnectionTest, RowsComeOneAtATimeToAQueryThatAsksForThem) {
  auto connection = open();
  ASSERT_TRUE(connection);
  struct streamed {
    std::vector<std::string> values;
    int calls = 0, most_rows_in_a_call = 0;
    std::optional<query_result> outcome;
  };
  const auto ask = [&](streamed& into, const std::string& rows) {
    connection->execute(
        "SELECT g::text FROM generate_series(1, $1::int) g", {rows},
        [&into](query_result r) { into.outcome = std::move(r); },
        [&into](const query_result& r) {
          ++into.calls;
          into.most_rows_in_a_call = std::max(into.most_rows_in_a_call, r.rows());
          for (int i = 0; i < r.rows(); ++i) into.values.emplace_back(r.value(i, 0));
        });
  };
  streamed opening, after_answer, after_error;
  std::optional<query_result> plain, failing;
  ask(opening, "200");
  connection->execute("SELECT 7", {}, [&](query_result r) { plain = std::move(r); });
  ask(after_answer, "1000");
  connection->execute("SELECT 1/0", {}, [&](query_result r) { failing = std::move(r); });
  ask(after_error, "300");
  run_until([&] { return opening.outcome && plain && after_answer.outcome && failing && after_error.outcome; });

  ASSERT_TRUE(plain->ok());
  EXPECT_EQ(plain->value(0, 0), "7");
  EXPECT_FALSE(failing->ok());
  for (auto* each : {&opening, &after_answer, &after_error}) {
    ASSERT_TRUE(each->outcome->ok()) << each->outcome->error();
    EXPECT_EQ(each->outcome->rows(), 0) << "the rows were held whole as well";
    EXPECT_EQ(each->most_rows_in_a_call, 1);
    EXPECT_EQ(each->calls, static_cast<int>(each->values.size()));
    for (std::size_t i = 0; i < each->values.size(); ++i) ASSERT_EQ(each->values[i], std::to_string(i + 1));
  }
  EXPECT_EQ(opening.values.size(), 200u);
  EXPECT_EQ(after_answer.values.size(), 1000u);
  EXPECT_EQ(after_error.values.size(), 300u);
}

// Rows already handed over do not make an answer: a query cancelled while
// its rows arrive ends with the error.
TEST_F(PipelineConnectionTest, AQueryCancelledDuringItsRowsEndsWithTheError) {
  auto connection = open();
  ASSERT_TRUE(connection);
  std::optional<query_result> set, outcome;
  connection->execute("SELECT set_config('statement_timeout', '300', false)", {},
                      [&](query_result r) { set = std::move(r); });
  run_until([&] { return set.has_value(); });
  int rows = 0;
  // Rows at once, then a sleep that outlasts the timeout before the last.
  connection->execute(
      "SELECT g, CASE WHEN g = 5000 THEN pg_sleep(2) END FROM generate_series(1, 5000) g", {},
      [&](query_result r) { outcome = std::move(r); }, [&](const query_result& r) { rows += r.rows(); });
  run_until([&] { return outcome.has_value(); });
  EXPECT_FALSE(outcome->ok());
  EXPECT_EQ(outcome->sqlstate(), "57014");
  EXPECT_LT(rows, 5000);
}

TEST_F(PipelineConnectionTest, ASecondStatementIsRefusedNeverRun) {
  auto connection = open();
  ASSERT_TRUE(connection);
  std::optional<query_result> answer;
  connection->execute("SELECT 1; SELECT pg_sleep(5)", {}, [&](query_result r) { answer = std::move(r); });
  run_until([&] { return answer.has_value(); });
  EXPECT_FALSE(answer->ok());
  EXPECT_EQ(answer->sqlstate(), "42601");  // syntax_error: one statement only
}

TEST_F(PipelineConnectionTest, StatementTimeoutCancelsThatQueryAndTheNextOneRuns) {
  auto connection = open();
  ASSERT_TRUE(connection);
  std::optional<query_result> slow, next;
  connection->execute("SET statement_timeout = 100", {}, [](query_result) {});
  connection->execute("SELECT pg_sleep(5)", {}, [&](query_result r) { slow = std::move(r); });
  connection->execute("SELECT 'after'", {}, [&](query_result r) { next = std::move(r); });
  const auto started = std::chrono::steady_clock::now();
  run_until([&] { return slow && next; });
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(slow->sqlstate(), "57014");  // query_canceled
  ASSERT_TRUE(next->ok()) << next->error();
  EXPECT_EQ(next->value(0, 0), "after");
}

TEST_F(PipelineConnectionTest, QueriesInFlightFailWhenTheServerEndsTheSession) {
  auto connection = open();
  ASSERT_TRUE(connection);
  std::optional<query_result> pid;
  connection->execute("SELECT pg_backend_pid()", {}, [&](query_result r) { pid = std::move(r); });
  run_until([&] { return pid.has_value(); });
  ASSERT_TRUE(pid->ok());
  std::optional<query_result> waiting;
  connection->execute("SELECT pg_sleep(30)", {}, [&](query_result r) { waiting = std::move(r); });
  run_until([&] { return connection->counted().sends >= 2; });
  {
    pqxx::connection admin(admin_url());
    pqxx::nontransaction tx(admin);
    tx.exec("SELECT pg_terminate_backend(" + std::string(pid->value(0, 0)) + ")");
  }
  run_until([&] { return waiting.has_value(); });
  EXPECT_FALSE(waiting->ok());
  EXPECT_TRUE(connection->broken());
  // A query on a broken connection is answered at once, not lost.
  std::optional<query_result> late;
  connection->execute("SELECT 1", {}, [&](query_result r) { late = std::move(r); });
  run_until([&] { return late.has_value(); });
  EXPECT_TRUE(late->connection_lost());
}

TEST_F(PipelineConnectionTest, AServerThatIsNotThereIsReportedWithoutBlocking) {
  std::optional<std::string> error;
  // Port 1 on loopback: nothing listens, the connection is refused.
  pipeline_connection::open(io_.get_executor(), "host=127.0.0.1 port=1 connect_timeout=5", [&](auto connection, std::string reason) {
    EXPECT_FALSE(connection);
    error = std::move(reason);
  });
  run_until([&] { return error.has_value(); });
  EXPECT_NE(error->find("127.0.0.1"), std::string::npos) << *error;
}

TEST_F(PipelineConnectionTest, HandlersMayQueueTheNextQuery) {
  auto connection = open();
  ASSERT_TRUE(connection);
  int chain = 0;
  std::function<void(query_result)> step = [&](query_result r) {
    ASSERT_TRUE(r.ok()) << r.error();
    chain = std::stoi(std::string(r.value(0, 0)));
    if (chain < 20) connection->execute("SELECT $1::int + 1", {std::to_string(chain)}, step);
  };
  connection->execute("SELECT 0", {}, step);
  run_until([&] { return chain == 20; });
  EXPECT_EQ(connection->counted().queries, 21u);
}

}  // namespace
}  // namespace storygate::testing
