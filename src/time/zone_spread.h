#pragma once
// How far apart the UTC offsets a time zone has ever used lie. A wall-clock
// time read in that zone and the instant it names differ by one of those
// offsets, so an instant comparison can first be narrowed to a wall-clock
// range widened by this spread (which an index on the wall-clock column
// answers), then checked exactly.
//
// Pure function over the system's tz database; thread-safe.
#include <chrono>
#include <string>

namespace storygate::time {

// The largest UTC offset of `zone` minus its smallest, over the whole of its
// history in the tz database (local mean time included): 1 h for
// America/Chicago, 15 min for Asia/Kathmandu, 0 for UTC.
// Throws std::runtime_error when the tz database does not know `zone` (the
// mapping's zones are checked at start-up, so that is a bug).
std::chrono::seconds offset_spread(const std::string& zone);

}  // namespace storygate::time
