#include "time/zone_spread.h"

#include <date/tz.h>

#include <algorithm>

namespace storygate::time {

std::chrono::seconds offset_spread(const std::string& zone) {
  const date::time_zone* tz = date::locate_zone(zone);  // throws std::runtime_error when unknown
  using namespace date;
  // From before any zone left local mean time to well past any data: every
  // offset the zone has had or is scheduled to have.
  const sys_seconds first{sys_days{1800_y / January / 1}};
  const sys_seconds last{sys_days{2200_y / January / 1}};
  auto info = tz->get_info(first);
  std::chrono::seconds lowest = info.offset, highest = info.offset;
  while (info.end < last) {
    info = tz->get_info(info.end);
    lowest = std::min(lowest, info.offset);
    highest = std::max(highest, info.offset);
  }
  return highest - lowest;
}

}  // namespace storygate::time
