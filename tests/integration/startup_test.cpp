// Start-up as a shell user sees it: exit codes, one clear line for every
// mistake in the command line, the credentials or the mapping.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <thread>
#include <sstream>

#include "core_database.h"
#include "harness.h"

namespace storygate::testing {
namespace {

class StartupTest : public core_database_suite {
 protected:

  // Runs `serve` with a mapping whose text is `yaml` and expects it to refuse.
  static process_result serve_with(const std::string& yaml,
                                    std::map<std::string, std::string> env = {}) {
    const auto mapping = write_temp_file("mapping.yaml", yaml);
    env.try_emplace("STORYGATE_DATABASE_URL", db_->url());
    env.try_emplace("STORYGATE_BEARER_TOKENS", test_token);
    return run_storygate({"serve", "--mapping", mapping, "--port", "0"}, env, std::chrono::seconds(20));
  }

  static std::string valid_mapping() { return read_file(core_mapping_path()); }

};

TEST_F(StartupTest, HelpAndVersion) {
  auto r = run_storygate({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("Usage: storygate serve --mapping FILE"), std::string::npos);
  EXPECT_NE(r.output.find("--max-limit"), std::string::npos);
  r = run_storygate({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.rfind("storygate ", 0), 0u);
}

TEST_F(StartupTest, UsageMistakesExit2WithOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"serve"}, {"frobnicate", "--mapping", "x"}, {"serve", "--mapping", "x", "--bogus"},
           {"serve", "--mapping", "x", "--port", "70000"}, {"serve", "--mapping", "x", "--max-limit", "0"}}) {
    const auto r = run_storygate(args);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(r.output.rfind("storygate: ", 0), 0u) << r.output;
    EXPECT_NE(r.output.find("Try 'storygate --help'"), std::string::npos);
  }
}

TEST_F(StartupTest, MissingMappingFileIsNamed) {
  const auto r = run_storygate({"serve", "--mapping", "/nonexistent/m.yaml"},
                               {{"STORYGATE_BEARER_TOKENS", test_token}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/m.yaml: cannot read the mapping file"), std::string::npos) << r.output;
}

TEST_F(StartupTest, NoCredentialsRefusesToServe) {
  const auto mapping = write_temp_file("m.yaml", valid_mapping());
  const auto r = run_storygate({"serve", "--mapping", mapping}, {{"STORYGATE_DATABASE_URL", db_->url()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("no credentials configured"), std::string::npos) << r.output;
}

TEST_F(StartupTest, WorldReadableTokenFileIsRefused) {
  const auto tokens = write_temp_file("tokens", "abc\n", 0644);
  const auto mapping = write_temp_file("m.yaml", valid_mapping());
  const auto r = run_storygate({"serve", "--mapping", mapping, "--bearer-token-file", tokens},
                               {{"STORYGATE_DATABASE_URL", db_->url()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("chmod o-r"), std::string::npos) << r.output;
}

TEST_F(StartupTest, MissingColumnPointsAtItsLine) {
  std::string yaml = valid_mapping();
  yaml.replace(yaml.find("lname"), 5, "lnmae");
  const auto r = serve_with(yaml);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("mapping.yaml:9:14: field 'last_name': column 'lnmae' does not exist in "
                          "legacy.cust_master (did you mean 'lname'?)"),
            std::string::npos)
      << r.output;
}

TEST_F(StartupTest, UnknownKeyPointsAtItsLineWithASuggestion) {
  std::string yaml = valid_mapping();
  yaml.replace(yaml.find("  updated_at:"), 13, "  updated_on:");
  const auto r = serve_with(yaml);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("mapping.yaml:6:3: unknown key 'updated_on' in 'source' (did you mean 'updated_at'?)"),
            std::string::npos)
      << r.output;
}

TEST_F(StartupTest, MissingRelationAndBadZoneAndBadExpressionAreNamed) {
  std::string yaml = valid_mapping();
  yaml.replace(yaml.find("legacy.cust_master"), 18, "legacy.no_such");
  auto r = serve_with(yaml);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("mapping.yaml:4:13: relation 'legacy.no_such' does not exist"), std::string::npos) << r.output;

  yaml = valid_mapping();
  yaml.replace(yaml.find("America/Chicago"), 15, "America/Chicag0");
  r = serve_with(yaml);
  EXPECT_NE(r.output.find("mapping.yaml:2:12: unknown time zone 'America/Chicag0'"), std::string::npos) << r.output;

  yaml = valid_mapping() + "  broken: { expression: \"sum(nope)\", type: number }\n";
  r = serve_with(yaml);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("field 'broken': the expression does not work: column \"nope\" does not exist"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("LINE 1"), std::string::npos) << "PostgreSQL's echo of our SQL leaked";
}

TEST_F(StartupTest, DeclaredTypeThatDoesNotFitIsRefused) {
  const auto r = serve_with(valid_mapping() + "  wrong: { column: birth_dt, type: boolean }\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("field 'wrong' is date in the database, which cannot be served "
                          "as boolean; declare it as date"),
            std::string::npos)
      << r.output;
}

TEST_F(StartupTest, UnreachableDatabaseIsOneLineWithoutPassword) {
  const auto r = serve_with(valid_mapping(),
                            {{"STORYGATE_DATABASE_URL", "postgresql://someone:hunter2@127.0.0.1:1/nowhere"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot connect to the database 127.0.0.1:1/nowhere as someone"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos);
}

TEST_F(StartupTest, PortInUseIsOneLine) {
  server first({"serve", "--mapping", core_mapping_path()},
               {{"STORYGATE_DATABASE_URL", db_->url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  const auto mapping = write_temp_file("m.yaml", valid_mapping());
  const auto r = run_storygate({"serve", "--mapping", mapping, "--port", std::to_string(first.port())},
                               {{"STORYGATE_DATABASE_URL", db_->url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << r.output;
}

TEST_F(StartupTest, CheckPrintsASampleRecord) {
  const auto r = run_storygate({"check", "--mapping", core_mapping_path()},
                               {{"STORYGATE_DATABASE_URL", db_->url()}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK (19 fields from legacy.cust_master, 0 warnings)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("first record:\n{\"id\":1001,"), std::string::npos) << r.output;
}

TEST_F(StartupTest, SigtermExitsZero) {
  server srv({"serve", "--mapping", core_mapping_path()},
             {{"STORYGATE_DATABASE_URL", db_->url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  EXPECT_EQ(http_get(srv.port(), "/healthz").status, 200u);
  EXPECT_EQ(srv.stop(SIGTERM), 0) << srv.logs();
}

TEST_F(StartupTest, SigtermFinishesRequestsInFlightThenExits) {
  // One customer takes a second to serve, so requests are in flight when SIGTERM lands.
  const auto mapping = write_temp_file(
      "slow.yaml", valid_mapping() + "  slow: { expression: \"(SELECT 1 FROM pg_sleep(CASE WHEN customer.cust_no = "
                                     "244988 THEN 1 ELSE 0 END))\", type: integer }\n");
  server srv({"serve", "--mapping", mapping}, {{"STORYGATE_DATABASE_URL", db_->url()}, {"STORYGATE_BEARER_TOKENS", test_token}});
  std::vector<std::thread> clients;
  std::vector<unsigned> statuses(4, 0);
  for (std::size_t i = 0; i < statuses.size(); ++i)
    clients.emplace_back([&, i] {
      try {
        statuses[i] = http_get(srv.port(), "/api/v1/customer/244988", bearer()).status;
      } catch (const std::exception&) {
        statuses[i] = 1;  // dropped mid-flight
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto signalled = std::chrono::steady_clock::now();
  EXPECT_EQ(srv.stop(SIGTERM), 0) << srv.logs();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - signalled);
  for (auto& c : clients) c.join();
  for (unsigned status : statuses) EXPECT_EQ(status, 200u) << "a request in flight was dropped";
  EXPECT_LT(took.count(), 5000) << "idle connections must not hold the shutdown";
  std::cout << "FIGURE: SIGTERM to exit with 4 requests in flight: " << took.count() << " ms\n";
}

}  // namespace
}  // namespace storygate::testing
