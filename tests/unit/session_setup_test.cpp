// db/session_setup: what every session storygate opens is set up with, and
// that no value is ever spliced into the SQL.
#include "db/session_setup.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace storygate::db {
namespace {

using namespace std::chrono_literals;

bool has(const std::vector<setup_statement>& statements, const std::string& sql) {
  return std::any_of(statements.begin(), statements.end(), [&](const auto& s) { return s.sql == sql; });
}

TEST(SessionSetup, ASessionIsReadOnlyWithTheStatementTimeoutAsAParameter) {
  const auto setup = session_setup(150000, 2500ms);
  EXPECT_TRUE(has(setup, "SELECT set_config('default_transaction_read_only', 'on', false)"));
  const auto timeout = std::find_if(setup.begin(), setup.end(),
                                    [](const auto& s) { return s.sql.find("statement_timeout") != std::string::npos; });
  ASSERT_NE(timeout, setup.end());
  EXPECT_EQ(timeout->sql, "SELECT set_config('statement_timeout', $1, false)");
  EXPECT_EQ(timeout->parameter, "2500");
}

TEST(SessionSetup, JitIsTurnedOffOnlyWhereTheServerHasIt) {
  EXPECT_TRUE(has(session_setup(110000, 1s), "SELECT set_config('jit', 'off', false)"));
  EXPECT_TRUE(has(session_setup(180000, 1s), "SELECT set_config('jit', 'off', false)"));
  // PostgreSQL 10 rejects an unknown setting.
  for (const auto& s : session_setup(100023, 1s)) EXPECT_EQ(s.sql.find("jit"), std::string::npos) << s.sql;
}

TEST(SessionSetup, OnlyServersFrom11TimeEachStatementOfABatchOnItsOwn) {
  EXPECT_FALSE(statement_timeout_per_execute(100023));
  EXPECT_TRUE(statement_timeout_per_execute(110000));
  EXPECT_TRUE(statement_timeout_per_execute(180001));
}

TEST(SessionSetup, TheZoneIsAParameterWhateverItHolds) {
  const auto zone = time_zone_setup("Europe/O'Brien'; DROP TABLE x; --", false);
  EXPECT_EQ(zone.sql, "SELECT set_config('TimeZone', $1, false)");
  EXPECT_EQ(zone.parameter, "Europe/O'Brien'; DROP TABLE x; --");
  EXPECT_EQ(time_zone_setup("UTC", true).sql, "SELECT set_config('TimeZone', $1, true)");
}

TEST(SessionSetup, BehindPgbouncerEachTransactionOpensReadOnlyAndSetsEverythingLocally) {
  const auto setup = transaction_setup(150000, 700ms, "America/Chicago");
  ASSERT_FALSE(setup.empty());
  EXPECT_EQ(setup.front().sql, "BEGIN READ ONLY");
  for (std::size_t i = 1; i < setup.size(); ++i)
    EXPECT_NE(setup[i].sql.find(", true)"), std::string::npos) << "not local: " << setup[i].sql;
  EXPECT_TRUE(has(setup, "SELECT set_config('statement_timeout', $1, true)"));
  EXPECT_TRUE(has(setup, "SELECT set_config('TimeZone', $1, true)"));
  EXPECT_TRUE(has(setup, "SELECT set_config('jit', 'off', true)"));
  EXPECT_FALSE(has(transaction_setup(100000, 700ms, "UTC"), "SELECT set_config('jit', 'off', true)"));
  EXPECT_EQ(end_transaction.sql, "COMMIT");
}

// Only an SQL_ASCII database's sessions leave UTF8: every other encoding
// PostgreSQL converts (and must, or LATIN1's letters would not be UTF-8).
TEST(EncodingSetup, OnlyAnSqlAsciiDatabaseIsReadAsItsBytes) {
  const auto session = encoding_setup("SQL_ASCII", false);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->sql, "SELECT set_config('client_encoding', 'SQL_ASCII', false)");
  EXPECT_FALSE(session->parameter);
  const auto transaction = encoding_setup("SQL_ASCII", true);
  ASSERT_TRUE(transaction);
  EXPECT_EQ(transaction->sql, "SELECT set_config('client_encoding', 'SQL_ASCII', true)");
  for (const char* other : {"UTF8", "LATIN1", "WIN1252", "EUC_JP", "", "sql_ascii"})
    EXPECT_FALSE(encoding_setup(other, false)) << other;
}

}  // namespace
}  // namespace storygate::db
