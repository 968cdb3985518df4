// The DBA's tools, run as a DBA runs them: check, explain, preview and init
// against a real database.
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <rapidjson/document.h>

#include "core_database.h"
#include "harness.h"

namespace storygate::testing {
namespace {

class ToolsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new scratch_database("");
    db_->run_psql_file(source_path("scripts/demo-database.sql"), {{"customers", "200"}});
    db_->exec(read_file(source_path("tests/integration/fixtures/flags-and-text-dates.sql")));
  }
  static void TearDownTestSuite() { delete db_; }
  static process_result run(const std::vector<std::string>& args) {
    return run_storygate(args, {{"STORYGATE_DATABASE_URL", db_->url_as("storygate_reader")}});
  }
  static scratch_database* db_;
};
scratch_database* ToolsTest::db_ = nullptr;

// EXPLAIN ANALYZE's last line: "Execution Time" from PostgreSQL 11 on,
// "Execution time" on 10.
bool shows_execution_time(const std::string& output) {
  return output.find("Execution Time: ") != std::string::npos ||
         output.find("Execution time: ") != std::string::npos;
}

TEST_F(ToolsTest, CheckPassesTheDemoWithoutWarnings) {
  const auto r = run({"check", "--mapping", source_path("mappings/demo.yaml")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK (20 fields from legacy.cust_master, 0 warnings)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("first record:\n{\"id\":"), std::string::npos);
}

TEST_F(ToolsTest, CheckWarnsWhenNoIndexServesTheListAndShowsIt) {
  scratch_database db("");
  db.run_psql_file(source_path("scripts/demo-database.sql"), {{"customers", "50"}});
  db.exec("DROP INDEX legacy.cust_master_last_chg_ts_cust_no_idx");
  const auto r = run_storygate({"check", "--mapping", source_path("mappings/demo.yaml")},
                               {{"STORYGATE_DATABASE_URL", db.url()}});
  EXPECT_EQ(r.exit_code, 0) << r.output;  // servable, if slowly
  EXPECT_NE(r.output.find("warning: the list query sorts every matching row"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CREATE INDEX ON legacy.cust_master (last_chg_ts, cust_no);"), std::string::npos);
}

// An id shared by rows, or missing, loses customers in DailyStory: check says
// so, with an example. The demo's primary key settles it without reading the
// table (CheckPassesTheDemoWithoutWarnings).
TEST_F(ToolsTest, CheckWarnsAboutSharedAndMissingIds) {
  scratch_database db("");
  db.run_psql_file(source_path("scripts/demo-database.sql"), {{"customers", "50"}});
  db.exec("ALTER TABLE legacy.cust_master DROP CONSTRAINT cust_master_pkey CASCADE;"
          "ALTER TABLE legacy.cust_master ALTER cust_no DROP NOT NULL;"
          "INSERT INTO legacy.cust_master SELECT * FROM legacy.cust_master WHERE cust_no = 244988;"
          "UPDATE legacy.cust_master SET cust_no = NULL"
          " WHERE cust_no = (SELECT max(cust_no) FROM legacy.cust_master)");
  const auto r = run_storygate({"check", "--mapping", source_path("mappings/demo.yaml")},
                               {{"STORYGATE_DATABASE_URL", db.url()}});
  EXPECT_EQ(r.exit_code, 0) << r.output;  // servable: these are warnings
  EXPECT_NE(r.output.find("warning: 1 ids belong to more than one row (e.g. 244988)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("ALTER TABLE legacy.cust_master ADD UNIQUE (cust_no);"), std::string::npos);
  EXPECT_NE(r.output.find("warning: 1 rows have no id (id is NULL)"), std::string::npos) << r.output;
}

// A multi-company table whose ids are unique per company only: what the
// filter serves decides. An id shared across companies is no duplicate; one
// shared within the served company is; rows without an id are not an id
// shared by several rows (they are warned about on their own).
TEST_F(ToolsTest, CheckCountsSharedIdsWithinTheFilterOnly) {
  scratch_database db(
      "CREATE TABLE cust (tenant int NOT NULL, cust_no int, chg timestamp, name text);"
      "INSERT INTO cust VALUES (1, 100, '2024-01-01', 'A'), (2, 100, '2024-01-01', 'LEAK'),"
      "  (1, 7, '2024-01-02', 'B'), (1, 7, '2024-01-03', 'B again'), (2, 8, '2024-01-02', 'C'),"
      "  (2, 8, '2024-01-02', 'C again'), (1, NULL, '2024-01-04', 'no id'), (1, NULL, '2024-01-05', 'no id');");
  const auto mapping = write_temp_file("tenant.yaml",
                                       "time_zone: UTC\n"
                                       "source: { relation: cust, id: cust_no, updated_at: chg, filter: \"customer.tenant = 1\" }\n"
                                       "fields: { name: name }\n");
  const auto r = run_storygate({"check", "--mapping", mapping}, {{"STORYGATE_DATABASE_URL", db.url()}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: 1 ids belong to more than one row that the filter serves (e.g. 7)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("warning: 2 rows have no id (id is NULL)"), std::string::npos) << r.output;
}

TEST_F(ToolsTest, CheckReportsValuesThatDoNotConvertAndRowsWithoutChangeTime) {
  const auto mapping = write_temp_file("m.yaml", read_file(source_path("mappings/flags-and-text-dates.yaml")));
  const auto r = run_storygate({"check", "--mapping", mapping}, {{"STORYGATE_DATABASE_URL", db_->url()}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: field 'birth_date': 1 of the first 1000 records have a value that does not "
                          "convert (served as null or the default), e.g. id C0000002"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("4 warnings"), std::string::npos) << r.output;
}

// Bytes of a legacy database that have no UTF-8 character (one WIN1252
// leaves undefined; Latin-1 in an SQL_ASCII database) are counted by check,
// which reads the sample as the server does. Before, check stopped at
// PostgreSQL's error, exit 1, and said nothing else about the mapping.
TEST_F(ToolsTest, CheckCountsRecordsWithBytesThatHaveNoUtf8Character) {
  struct legacy {
    std::string encoding, bytes, told;
  };
  for (const auto& l : {legacy{"WIN1252", "Bad\x81", "bytes WIN1252 has no character for"},
                        legacy{"SQL_ASCII", "M\xfcller", "bytes that are not UTF-8"}}) {
    scratch_database db(core_sql(), l.encoding);
    {
      pqxx::connection c(db.url() + "?client_encoding=" + l.encoding);
      pqxx::nontransaction tx(c);
      tx.exec_params("UPDATE legacy.cust_master SET fname = $1 WHERE cust_no IN (1001, 1002, 1003)", l.bytes);
    }
    const auto r = run_storygate({"check", "--mapping", core_mapping_path()}, {{"STORYGATE_DATABASE_URL", db.url()}});
    EXPECT_EQ(r.exit_code, 0) << l.encoding << ": " << r.output;
    EXPECT_NE(r.output.find("warning: 3 of the first 1000 records hold " + l.told + ", e.g. id 1001: "),
              std::string::npos)
        << l.encoding << ": " << r.output;
  }
}

TEST_F(ToolsTest, CheckFailsOnAMistakeWithItsLine) {
  std::string yaml = read_file(source_path("mappings/demo.yaml"));
  yaml.replace(yaml.find("value: category_nm"), 18, "value: category_name");
  const auto r = run({"check", "--mapping", write_temp_file("m.yaml", yaml)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("field 'categories' 'value': column 'category_name' does not exist in "
                          "legacy.cust_category (did you mean 'category_nm'?)"),
            std::string::npos)
      << r.output;
}

TEST_F(ToolsTest, ExplainShowsTheSqlAndThePlans) {
  // Enough customers that reading them whole is not the cheaper plan (200
  // fit in a page or two, and the planner rightly reads those whole).
  scratch_database db("");
  db.run_psql_file(source_path("scripts/demo-database.sql"), {{"customers", "3000"}});
  const auto r = run_storygate({"explain", "--mapping", source_path("mappings/demo.yaml")},
                               {{"STORYGATE_DATABASE_URL", db.url()}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("-- GET /api/v1/customer/{id}\nSELECT \"customer\".\"cust_no\""), std::string::npos);
  EXPECT_NE(r.output.find("-- GET /api/v1/customers: a page that follows on (keyset)"), std::string::npos);
  // The list's keys come from the (updated_at, id) index alone (OFFSET skips
  // them without reading a row), and each page's rows are fetched through it.
  EXPECT_NE(r.output.find("Index Only Scan using cust_master_last_chg_ts_cust_no_idx"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Index Scan using cust_master_last_chg_ts_cust_no_idx"), std::string::npos) << r.output;
  EXPECT_TRUE(shows_execution_time(r.output)) << r.output;
}

// JIT compiles whenever a plan's cost estimate passes jit_above_cost, and a
// page's correlated subqueries push it there while the page itself takes
// milliseconds: storygate's sessions, and its transactions behind pgbouncer,
// run without it. This database asks for JIT on every statement, and a plain
// session does get it, so the test can tell. PostgreSQL 10 has no JIT (and no
// jit setting), and a server built without LLVM cannot JIT (the builds in
// tests/pg-versions): there the statements must run all the same.
TEST_F(ToolsTest, StatementsRunWithoutJit) {
  scratch_database db("");
  db.run_psql_file(source_path("scripts/demo-database.sql"), {{"customers", "50"}});
  if (pqxx::connection(db.url()).server_version() >= 110000 && db.query_value("SELECT pg_jit_available()") == "t") {
    db.exec("ALTER DATABASE \"" + db.name() + "\" SET jit_above_cost = 0");
    pqxx::connection plain(db.url());
    pqxx::nontransaction tx(plain);
    std::string plan;
    for (const auto& row : tx.exec("EXPLAIN SELECT count(*) FROM legacy.cust_master")) plan += row[0].c_str();
    ASSERT_NE(plan.find("JIT:"), std::string::npos) << "no JIT on this server: the test cannot tell\n" << plan;
  }
  for (const bool pgbouncer : {false, true}) {
    std::vector<std::string> args{"explain", "--mapping", source_path("mappings/demo.yaml")};
    if (pgbouncer) args.push_back("--pgbouncer");
    const auto r = run_storygate(args, {{"STORYGATE_DATABASE_URL", db.url()}});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(shows_execution_time(r.output)) << r.output;
    EXPECT_EQ(r.output.find("JIT:"), std::string::npos) << (pgbouncer ? "--pgbouncer\n" : "") << r.output;
  }
}

TEST_F(ToolsTest, PreviewPrintsWhatDailyStoryGets) {
  auto r = run({"preview", "--mapping", source_path("mappings/demo.yaml"), "--id", "244988"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("{\"id\":244988,\"first_name\":\"Amanda\"", 0), 0u) << r.output;

  r = run({"preview", "--mapping", source_path("mappings/demo.yaml"), "--last-updated", "2020-01-01", "--limit", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  rapidjson::Document doc;
  doc.Parse(r.output.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.output;
  EXPECT_EQ(doc["count"].GetInt(), 200);
  EXPECT_EQ(doc["records"].Size(), 3u);

  r = run({"preview", "--mapping", source_path("mappings/demo.yaml"), "--id", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("No customer found for id 1"), std::string::npos);
  r = run({"preview", "--mapping", source_path("mappings/demo.yaml"), "--limit", "5000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("parameter 'limit' must be a whole number from 1 to 1000"), std::string::npos) << r.output;
}

TEST_F(ToolsTest, InitWritesAStarterMappingThatChecks) {
  const auto r = run({"init", "--table", "legacy.cust_master"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const std::string line :
       {"  id: cust_no", "  updated_at: last_chg_ts", "  first_name: fname", "  last_name: lname",
        "  email: email_addr", "  mobile_phone: cell_phone", "  state: st", "  zip: zip_cd",
        "  # categories: { children: { relation: legacy.cust_category, key: cust_no, value: category_nm } }",
        "  # total_sales: { expression: '(SELECT coalesce(sum(c.order_total), 0) FROM legacy.order_hdr c",
        "  # created_ts: created_ts"})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  const auto check = run({"check", "--mapping", write_temp_file("init.yaml", r.output)});
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

// Legacy names: spaces, capitals, a keyword, YAML's own characters, letters
// beyond ASCII, a comma in a child's column. What init writes checks as it
// is, and so does each suggestion it leaves commented out, taken alone.
TEST_F(ToolsTest, InitQuotesLegacyNamesSoThatEverySuggestionChecks) {
  db_->exec(R"(
    CREATE SCHEMA "Legacy Data";
    CREATE TABLE "Legacy Data"."Customer Master" (
      "Cust No" integer PRIMARY KEY, "First Name" text, "E-Mail" text, "order" integer, "#notes" text,
      "a: b" text, "yes" text, "Größe" numeric, "Last Modified" timestamp NOT NULL);
    CREATE TABLE "Legacy Data"."Order Lines" (
      "Line No" integer PRIMARY KEY, "Cust No" integer REFERENCES "Legacy Data"."Customer Master",
      "Amount, net" numeric, "Placed At" timestamp, "Tag" text);
    INSERT INTO "Legacy Data"."Customer Master" VALUES (1, 'Ann', 'ann@example.com', 3, 'n', 'x', 'y', 1.5, now());
    INSERT INTO "Legacy Data"."Order Lines" VALUES (1, 1, 9.95, now(), 'Beauty');
    GRANT USAGE ON SCHEMA "Legacy Data" TO storygate_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA "Legacy Data" TO storygate_reader;
  )");
  const auto r = run({"init", "--table", R"("Legacy Data"."Customer Master")"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const std::string line : {R"(  relation: '"Legacy Data"."Customer Master"')", "  id: Cust No   #",
                                 "  updated_at: Last Modified   #", "  first_name: First Name   #",
                                 "  # notes: '#notes'   #", "  # gr_e: Größe   #"})
    EXPECT_NE(r.output.find("\n" + line), std::string::npos) << line << "\n" << r.output;
  const auto check = run({"check", "--mapping", write_temp_file("init-legacy.yaml", r.output)});
  ASSERT_EQ(check.exit_code, 0) << check.output << "\n" << r.output;

  // Each commented-out suggestion under fields:, uncommented alone.
  const auto fields_at = r.output.find("\nfields:\n");
  ASSERT_NE(fields_at, std::string::npos);
  int suggestions = 0;
  std::size_t from = fields_at;
  for (auto at = r.output.find("\n  # ", from); at != std::string::npos; at = r.output.find("\n  # ", from)) {
    from = at + 1;
    const auto end = r.output.find('\n', at + 1);
    const auto line = r.output.substr(at + 5, end - at - 5);
    if (line.find(": ") == std::string::npos || line.rfind("From ", 0) == 0 || line.rfind("Not placed", 0) == 0)
      continue;
    ++suggestions;
    const auto mapping = r.output.substr(0, at + 1) + "  " + line + r.output.substr(end);
    const auto one = run({"check", "--mapping", write_temp_file("init-suggestion.yaml", mapping)});
    EXPECT_EQ(one.exit_code, 0) << "the suggestion '" << line << "' does not check:\n" << one.output;
  }
  // Orders, sales, last order and one categories line from the child; the
  // five columns it could not place.
  EXPECT_EQ(suggestions, 9) << r.output;
}

TEST_F(ToolsTest, InitNamesAMissingTable) {
  const auto r = run({"init", "--table", "legacy.nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("table 'legacy.nope' does not exist or this role cannot see it"), std::string::npos);
}

}  // namespace
}  // namespace storygate::testing
