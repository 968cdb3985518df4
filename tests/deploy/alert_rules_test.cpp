// The operator's alerting rules (deploy/prometheus/storygate-rules.yml) and
// Grafana dashboard (deploy/grafana/storygate.json), checked as Prometheus
// would load them (promtool) and against the /metrics of the real binary: a
// rule or panel naming a metric storygate does not export would stay silent
// or empty for ever.
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace storygate::testing {
namespace {

const std::string rules_file = "deploy/prometheus/storygate-rules.yml";
const std::string rule_tests_file = "tests/deploy/storygate-rules.test.yml";
const std::string dashboard_file = "deploy/grafana/storygate.json";

process_result promtool(const std::vector<std::string>& args) {
  std::vector<std::string> argv{PROMTOOL};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {}, std::chrono::seconds(60));
}

// Every storygate_* metric name in `text` (recording rules are storygate:...).
std::set<std::string> metric_names_in(const std::string& text) {
  static const std::regex name(R"(\bstorygate_[a-z0-9_]+)");
  std::set<std::string> names;
  for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it) names.insert(it->str());
  return names;
}

// Sample names of the exposition text: histograms as name_bucket, _sum, _count.
std::set<std::string> exported_names(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

std::vector<YAML::Node> alerts() {
  std::vector<YAML::Node> found;
  for (const auto& group : YAML::LoadFile(source_path(rules_file))["groups"])
    for (const auto& rule : group["rules"])
      if (rule["alert"]) found.push_back(rule);
  return found;
}

// Every PromQL expression of the dashboard's panels, Grafana's variables
// replaced by what they stand for at query time.
std::vector<std::string> dashboard_expressions() {
  rapidjson::Document doc;
  doc.Parse(read_file(source_path(dashboard_file)).c_str());
  if (doc.HasParseError()) throw std::runtime_error(dashboard_file + " is not JSON");
  std::vector<std::string> exprs;
  static const std::regex interval(R"(\$\{?__(rate_interval|interval|range)\}?)");
  static const std::regex job(R"(\$\{?job\}?)");
  for (const auto& panel : doc["panels"].GetArray()) {
    if (!panel.HasMember("targets")) continue;
    for (const auto& target : panel["targets"].GetArray()) {
      std::string expr = target["expr"].GetString();
      expr = std::regex_replace(expr, interval, "5m");
      exprs.push_back(std::regex_replace(expr, job, ".+"));
    }
  }
  return exprs;
}

// One storygate on a legacy table with values it cannot convert, and its
// /metrics after requests that make every alerted series appear: a bad date
// (coercion warnings), a list page, a readiness check.
class LiveMetrics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = std::make_unique<scratch_database>(
        read_file(source_path("tests/integration/fixtures/flags-and-text-dates.sql")));
    server srv({"serve", "--mapping", source_path("mappings/flags-and-text-dates.yaml"),
                "--metrics-access", "loopback"},
               {{"STORYGATE_DATABASE_URL", db_->url_as("storygate_test_reader")},
                {"STORYGATE_BEARER_TOKENS", test_token}});
    ASSERT_EQ(http_get(srv.port(), "/readyz").status, 200u);
    ASSERT_EQ(http_get(srv.port(), "/api/v1/customer/C0000002", bearer()).status, 200u);
    ASSERT_EQ(http_get(srv.port(), "/api/v1/customers?limit=20", bearer()).status, 200u);
    const auto res = http_get(srv.port(), "/metrics");
    ASSERT_EQ(res.status, 200u) << res.body;
    exposition_ = res.body;
    exported_ = exported_names(res.body);
  }
  static void TearDownTestSuite() { db_.reset(); }

  static void expect_exported(const std::set<std::string>& names, const std::string& where) {
    ASSERT_FALSE(names.empty()) << where << " names no storygate metric";
    for (const auto& name : names)
      EXPECT_TRUE(exported_.count(name)) << where << " names " << name << ", which storygate does not export";
  }

  static inline std::unique_ptr<scratch_database> db_;
  static inline std::string exposition_;
  static inline std::set<std::string> exported_;
};

TEST(AlertRules, PromtoolAcceptsTheRules) {
  const auto r = promtool({"check", "rules", source_path(rules_file)});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(AlertRules, PromtoolUnitTestsPass) {
  const auto r = promtool({"test", "rules", source_path(rule_tests_file)});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// Each alert has a unit test where it fires and one where it stays quiet.
TEST(AlertRules, EachAlertHasAFiringAndAQuietUnitTest) {
  std::set<std::string> fires, quiet;
  for (const auto& test : YAML::LoadFile(source_path(rule_tests_file))["tests"])
    for (const auto& check : test["alert_rule_test"])
      (check["exp_alerts"].size() > 0 ? fires : quiet).insert(check["alertname"].as<std::string>());
  const auto all = alerts();
  ASSERT_GE(all.size(), 9u);
  for (const auto& alert : all) {
    const auto name = alert["alert"].as<std::string>();
    EXPECT_TRUE(fires.count(name)) << name << " has no test in which it fires";
    EXPECT_TRUE(quiet.count(name)) << name << " has no test in which it stays quiet";
  }
}

TEST(AlertRules, EachAlertHasSummaryDescriptionAndARunbookParagraph) {
  const auto readme = read_file(source_path("README.md"));
  for (const auto& alert : alerts()) {
    const auto name = alert["alert"].as<std::string>();
    EXPECT_TRUE(alert["annotations"]["summary"].IsScalar()) << name;
    EXPECT_TRUE(alert["annotations"]["description"].IsScalar()) << name;
    EXPECT_NE(readme.find("\n- **`" + name + "`**"), std::string::npos)
        << "README.md has no runbook paragraph starting - **`" << name << "`**";
  }
}

TEST(GrafanaDashboard, EveryExpressionParses) {
  // promtool parses PromQL when it checks rules: each expression becomes a
  // recording rule of a generated file.
  std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
  const auto exprs = dashboard_expressions();
  ASSERT_GE(exprs.size(), 10u);
  for (std::size_t i = 0; i < exprs.size(); ++i)
    rules += "      - record: dashboard:expr_" + std::to_string(i) + "\n        expr: '" +
             std::regex_replace(exprs[i], std::regex("'"), "''") + "'\n";
  const auto r = promtool({"check", "rules", write_temp_file("dashboard-rules.yml", rules)});
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << rules;
}

// The series the alerts watch move where the events happen: the readiness
// check, the one-page walk (followed to its end), its first page, the bad date.
TEST_F(LiveMetrics, AlertedEventsAreCountedWhereTheyHappen) {
  for (const char* line : {R"(storygate_readiness_checks_total{result="ok"} 1)",
                           R"(storygate_syncs_total{completed="true"} 1)",
                           R"(storygate_sync_pages_total{continuation="first"} 1)",
                           R"(storygate_sync_pages_total{continuation="offset"} 0)",
                           "storygate_sync_duration_seconds_count 1"})
    EXPECT_NE(exposition_.find(std::string("\n") + line + "\n"), std::string::npos) << line << "\n" << exposition_;
  // C0000002's bad birth date, once by id and once in the list.
  EXPECT_NE(exposition_.find("\n" R"(storygate_coercion_warnings_total{field="birth_date"} 2)" "\n"), std::string::npos)
      << exposition_;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(exposition_, m, std::regex("\nstorygate_sync_last_completed_timestamp_seconds (\\S+)\n")));
  EXPECT_GT(std::stod(m[1]), 1.7e9) << "a completed walk sets the time of day";
}

// A failing /readyz is counted as well (StorygateNotReady): the database
// stops taking connections and the pooled ones are cut.
TEST(Readiness, FailedCheckIsCounted) {
  scratch_database db(read_file(source_path("tests/integration/fixtures/flags-and-text-dates.sql")));
  server srv({"serve", "--mapping", source_path("mappings/flags-and-text-dates.yaml"), "--metrics-access", "loopback"},
             {{"STORYGATE_DATABASE_URL", db.url_as("storygate_test_reader")}, {"STORYGATE_BEARER_TOKENS", test_token}});
  ASSERT_EQ(http_get(srv.port(), "/readyz").status, 200u);
  {
    pqxx::connection admin(admin_url());
    pqxx::nontransaction tx(admin);
    tx.exec("ALTER DATABASE " + db.name() + " ALLOW_CONNECTIONS false");
    tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + tx.quote(db.name()));
  }
  // Readiness is the pool's health check, made about once a second: the
  // probes turn to 503 within a check or two. Each answer is counted.
  int ok = 1, failed = 0;
  ASSERT_TRUE(eventually([&] {
    const bool down = http_get(srv.port(), "/readyz").status >= 500;
    ++(down ? failed : ok);
    return down;
  }));
  const auto metrics = http_get(srv.port(), "/metrics").body;
  EXPECT_NE(metrics.find("\nstorygate_readiness_checks_total{result=\"failed\"} " + std::to_string(failed) + "\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("\nstorygate_readiness_checks_total{result=\"ok\"} " + std::to_string(ok) + "\n"),
            std::string::npos)
      << metrics;
}

TEST_F(LiveMetrics, AlertRulesNameOnlyExportedMetrics) {
  expect_exported(metric_names_in(read_file(source_path(rules_file))), rules_file);
}

TEST_F(LiveMetrics, DashboardNamesOnlyExportedMetrics) {
  std::string all;
  for (const auto& expr : dashboard_expressions()) all += expr + "\n";
  expect_exported(metric_names_in(all), dashboard_file);
}

}  // namespace
}  // namespace storygate::testing
