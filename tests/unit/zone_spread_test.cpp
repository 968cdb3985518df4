#include "time/zone_spread.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace storygate::time {
namespace {

using namespace std::chrono_literals;

// Chicago: CST -06:00, CDT/EST/CWT -05:00, local mean time -05:50:36 in between.
TEST(ZoneSpread, ChicagoOneHour) { EXPECT_EQ(offset_spread("America/Chicago"), 1h); }

TEST(ZoneSpread, UtcHasNone) { EXPECT_EQ(offset_spread("UTC"), 0s); }

// +05:30 until 1986, +05:45 since; local mean time +05:41:16 in between.
TEST(ZoneSpread, KathmanduQuarterHour) { EXPECT_EQ(offset_spread("Asia/Kathmandu"), 15min); }

// +10:30 with a 30-minute summer shift today; +10:00 until 1981, and
// +11:30 in the summers of 1981-1985.
TEST(ZoneSpread, LordHoweHourAndAHalf) { EXPECT_EQ(offset_spread("Australia/Lord_Howe"), 1h + 30min); }

// British Double Summer Time (+02:00) in the 1940s, local mean time -00:01:15.
TEST(ZoneSpread, LondonDoubleSummerTimeAndMeanTime) {
  EXPECT_EQ(offset_spread("Europe/London"), 2h + 1min + 15s);
}

TEST(ZoneSpread, UnknownZoneThrows) { EXPECT_THROW(offset_spread("America/Chicag0"), std::runtime_error); }

}  // namespace
}  // namespace storygate::time
