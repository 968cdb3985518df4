// Text date-times (coerce::to_datetime) against PostgreSQL's own reading of
// the same wall-clock time: `'...'::timestamp AT TIME ZONE zone`. A legacy
// text column and a timestamp column holding the same wall time must name
// the same instant, in the repeated and the skipped hour too, or a sync
// orders and filters them differently.
//
// Wall times are generated: every 5 minutes for three hours around each
// transition of each zone from 2019 to 2023, and seeded random times
// between them.
#include <date/tz.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <random>

#include "coerce/coercions.h"
#include "harness.h"

namespace storygate::testing {
namespace {

constexpr const char* wall_format = "%Y-%m-%d %H:%M:%S";

std::vector<std::string> generated_wall_times(const std::string& zone_name, unsigned seed) {
  using namespace std::chrono;
  const auto* zone = date::locate_zone(zone_name);
  std::vector<date::local_seconds> walls;
  auto at = date::sys_days{date::year{2019} / 1 / 1} + seconds(0);
  const auto end = date::sys_days{date::year{2024} / 1 / 1} + seconds(0);
  while (at < end) {
    const auto info = zone->get_info(at);
    if (info.end >= end) break;
    // Local times on both sides of the transition at info.end, read in
    // either offset: covers the gap and the fold alike.
    for (const auto offset : {info.offset, zone->get_info(info.end).offset}) {
      const auto wall = date::local_seconds{(info.end + offset).time_since_epoch()};
      for (auto step = minutes(-90); step <= minutes(90); step += minutes(5)) walls.push_back(wall + step);
    }
    at = info.end;
  }
  std::mt19937 random(seed);
  std::uniform_int_distribution<long long> anywhere(0, duration_cast<seconds>(end - date::sys_days{date::year{2019} / 1 / 1}).count());
  for (int i = 0; i < 200; ++i)
    walls.push_back(date::local_seconds{(date::sys_days{date::year{2019} / 1 / 1} + seconds(anywhere(random))).time_since_epoch()});
  std::vector<std::string> texts;
  for (const auto& wall : walls) texts.push_back(date::format(wall_format, wall));
  return texts;
}

class TextDateTimeOracleTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TextDateTimeOracleTest, AgreesWithPostgresAtTimeZone) {
  const std::string zone = GetParam();
  const unsigned seed = 11;
  const auto walls = generated_wall_times(zone, seed);
  ASSERT_GE(walls.size(), 200u);

  pqxx::connection connection(admin_url());
  pqxx::nontransaction tx(connection);
  std::string values;
  for (const auto& wall : walls) values += (values.empty() ? "(" : ",(") + tx.quote(wall) + ")";
  const auto rows = tx.exec("SET TimeZone = 'UTC'; SELECT w, to_char(w::timestamp AT TIME ZONE " + tx.quote(zone) +
                            ", 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"') FROM (VALUES " + values + ") AS v(w)");
  ASSERT_EQ(rows.size(), walls.size());
  int differences = 0;
  for (const auto& row : rows) {
    const std::string wall = row[0].c_str();
    const auto ours = coerce::to_datetime(wall, wall_format, zone, "UTC");
    ASSERT_TRUE(ours) << wall;
    if (*ours != row[1].c_str() && ++differences <= 5)
      ADD_FAILURE() << zone << " (seed " << seed << "): wall time " << wall << " is " << *ours
                    << " to storygate, " << row[1].c_str() << " to PostgreSQL";
  }
  EXPECT_EQ(differences, 0) << "of " << walls.size() << " wall times in " << zone;
}

INSTANTIATE_TEST_SUITE_P(Zones, TextDateTimeOracleTest,
                         ::testing::Values("America/Chicago", "Europe/London", "Australia/Lord_Howe",
                                           "Asia/Kathmandu", "UTC", "Europe/Dublin"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (auto& c : name) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace storygate::testing
