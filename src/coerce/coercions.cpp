#include "coerce/coercions.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <sstream>

namespace storygate::coerce {
namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses `text` completely with `format`; false if anything is left over.
template <typename T>
bool parse_exactly(std::string_view text, const std::string& format, T& value) {
  std::istringstream in{std::string(trimmed(text))};
  in >> date::parse(format, value);
  if (in.fail()) return false;
  in >> std::ws;
  return in.peek() == std::char_traits<char>::eof();
}

// The instant a wall-clock time stands for, read as PostgreSQL reads a
// timestamp AT TIME ZONE: in a gap (spring forward) with the offset before
// it, in a fold (fall back) with the offset after it. Both are the later of
// the two readings, so text and timestamp columns agree to the second.
date::sys_seconds wall_to_instant(const date::time_zone& zone, date::local_seconds wall) {
  const auto info = zone.get_info(wall);
  switch (info.result) {
    case date::local_info::unique: return date::sys_seconds{wall.time_since_epoch() - info.first.offset};
    default:
      return date::sys_seconds{std::max(wall.time_since_epoch() - info.first.offset,
                                        wall.time_since_epoch() - info.second.offset)};
  }
}

}  // namespace

std::optional<bool> to_boolean(std::string_view text) {
  const std::string word = lower(trimmed(text));
  for (const char* yes : {"t", "true", "y", "yes", "on", "1"})
    if (word == yes) return true;
  for (const char* no : {"f", "false", "n", "no", "off", "0"})
    if (word == no) return false;
  return std::nullopt;
}

std::optional<std::string> to_number(std::string_view text) {
  std::string_view s = trimmed(text);
  std::string sign;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    if (s.front() == '-') sign = "-";
    s.remove_prefix(1);
  }
  const auto dot = s.find('.');
  std::string whole(s.substr(0, dot));
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  // Thousands separators only between groups of three digits: "1,234,567".
  if (whole.find(',') != std::string::npos) {
    std::string digits;
    std::size_t group = 0;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      if (whole[i] == ',') {
        if (i == 0 || (digits.size() > 3 && group != 3)) return std::nullopt;
        group = 0;
        continue;
      }
      digits += whole[i];
      ++group;
    }
    if (group != 3) return std::nullopt;
    whole = digits;
  }
  if (whole.empty() && dot != std::string_view::npos) whole = "0";
  if (!all_digits(whole)) return std::nullopt;
  if (dot != std::string_view::npos && !all_digits(fraction)) return std::nullopt;
  // JSON forbids leading zeros.
  const auto first = whole.find_first_not_of('0');
  whole = first == std::string::npos ? "0" : whole.substr(first);
  std::string number = sign + whole;
  if (dot != std::string_view::npos) number += "." + std::string(fraction);
  return number;
}

std::optional<std::string> to_integer(std::string_view text) {
  auto number = to_number(text);
  if (!number) return std::nullopt;
  const auto dot = number->find('.');
  if (dot == std::string::npos) return number;
  if (number->find_first_not_of('0', dot + 1) != std::string::npos) return std::nullopt;
  number->erase(dot);
  return number == "-0" ? std::optional<std::string>("0") : number;
}

std::optional<std::string> to_date(std::string_view text, const std::string& format) {
  date::year_month_day day{};
  if (!parse_exactly(text, format, day) || !day.ok()) return std::nullopt;
  return date::format("%F", day);
}

std::optional<std::string> to_datetime(std::string_view text, const std::string& format,
                                       const std::string& from_zone, const std::string& to_zone) {
  const auto* from = date::locate_zone(from_zone);
  const auto* to = date::locate_zone(to_zone);
  date::local_seconds wall{};
  if (!parse_exactly(text, format, wall)) return std::nullopt;
  const auto day = date::year_month_day{date::floor<date::days>(wall)};
  if (!day.ok()) return std::nullopt;
  const auto instant = wall_to_instant(*from, wall);
  const auto local = date::make_zoned(to, instant);
  std::string out = date::format("%FT%T%Ez", local);
  return out;
}

bool is_known_zone(const std::string& zone) {
  try {
    date::locate_zone(zone);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::string> split(std::string_view text, std::string_view delimiter) {
  std::vector<std::string> items;
  if (delimiter.empty()) return items;
  for (std::size_t start = 0;;) {
    const auto end = text.find(delimiter, start);
    const auto item = trimmed(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (!item.empty()) items.emplace_back(item);
    if (end == std::string_view::npos) break;
    start = end + delimiter.size();
  }
  return items;
}

}  // namespace storygate::coerce
