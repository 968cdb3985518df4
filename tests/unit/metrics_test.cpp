#include "observe/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

namespace storygate::observe {
namespace {

using namespace std::chrono_literals;

bool has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

// The value of an unlabelled sample, or -1 when it is missing.
double sample(const std::string& text, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\n" + name + " ([0-9.e+]+)\n"))) return -1;
  return std::stod(m[1]);
}

TEST(Metrics, AlertedSeriesExistAtZeroBeforeTheFirstEvent) {
  metrics m;
  const auto text = m.render({});
  for (const char* line : {R"(storygate_mapping_reloads_total{result="failed"} 0)",
                           R"(storygate_readiness_checks_total{result="failed"} 0)",
                           R"(storygate_syncs_total{completed="false"} 0)",
                           R"(storygate_syncs_total{completed="true"} 0)",
                           R"(storygate_sync_pages_total{continuation="offset"} 0)",
                           "storygate_sync_last_completed_timestamp_seconds 0",
                           "storygate_sync_duration_seconds_count 0"})
    EXPECT_TRUE(has(text, line)) << line << " missing from\n" << text;
}

TEST(Metrics, FirstPageIsNotCountedAsOffset) {
  metrics m;
  m.sync_page(metrics::page_continuation::first);
  m.sync_page(metrics::page_continuation::keyset);
  m.sync_page(metrics::page_continuation::keyset);
  const auto text = m.render({});
  EXPECT_TRUE(has(text, R"(storygate_sync_pages_total{continuation="first"} 1)")) << text;
  EXPECT_TRUE(has(text, R"(storygate_sync_pages_total{continuation="keyset"} 2)")) << text;
  EXPECT_TRUE(has(text, R"(storygate_sync_pages_total{continuation="offset"} 0)")) << text;
}

TEST(Metrics, CompletedWalkSetsLastCompletedTimeAndDuration) {
  metrics m;
  const double before = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  m.sync_finished(true, 120, 3, 42s);
  const auto text = m.render({});
  EXPECT_GE(sample(text, "storygate_sync_last_completed_timestamp_seconds"), before - 1);
  EXPECT_EQ(sample(text, "storygate_sync_duration_seconds_count"), 1);
  EXPECT_EQ(sample(text, "storygate_sync_duration_seconds_sum"), 42);
  EXPECT_EQ(sample(text, "storygate_sync_records_total"), 120);
  EXPECT_TRUE(has(text, R"(storygate_syncs_total{completed="true"} 1)")) << text;
}

TEST(Metrics, AbandonedWalkLeavesLastCompletedTimeAlone) {
  metrics m;
  m.sync_finished(false, 50, 0, 10s);
  const auto text = m.render({});
  EXPECT_EQ(sample(text, "storygate_sync_last_completed_timestamp_seconds"), 0);
  EXPECT_EQ(sample(text, "storygate_sync_duration_seconds_count"), 0);
  EXPECT_TRUE(has(text, R"(storygate_syncs_total{completed="false"} 1)")) << text;
}

TEST(Metrics, ReadinessChecksCountedByResult) {
  metrics m;
  m.readiness_checked(true);
  m.readiness_checked(false);
  m.readiness_checked(false);
  const auto text = m.render({});
  EXPECT_TRUE(has(text, R"(storygate_readiness_checks_total{result="ok"} 1)")) << text;
  EXPECT_TRUE(has(text, R"(storygate_readiness_checks_total{result="failed"} 2)")) << text;
}

}  // namespace
}  // namespace storygate::observe
