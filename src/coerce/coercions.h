#pragma once
// Turning legacy text into DailyStory's types: 'Y'/'N' flags, numbers kept as
// text, dates and date-times in a declared format, delimited lists. Each
// returns nullopt when the text cannot be read that way; the caller serves
// null for that field and counts a warning, so one bad value never fails a
// page.
//
// Pure functions; thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace storygate::coerce {

// t/f, true/false, y/n, yes/no, on/off, 1/0, any case, surrounding blanks ignored.
std::optional<bool> to_boolean(std::string_view text);

// "1,234.50" -> "1234.50", " 42 " -> "42", "-0.5" -> "-0.5", ".5" -> "0.5":
// a JSON number with the digits as written. Thousands separators (',') are
// dropped; anything else that is not a number gives nullopt.
std::optional<std::string> to_number(std::string_view text);

// Like to_number, but only whole numbers ("42", "42.00" -> "42").
std::optional<std::string> to_integer(std::string_view text);

// A date written in `format` (strftime-style, e.g. "%m/%d/%Y"), as YYYY-MM-DD.
std::optional<std::string> to_date(std::string_view text, const std::string& format);

// A wall-clock date-time written in `format` in the IANA zone `from_zone`,
// as ISO 8601 with the offset in force then in `to_zone`
// (e.g. "2021-10-06T13:01:27-05:00"). Daylight-saving gaps and overlaps are
// resolved as PostgreSQL resolves a timestamp AT TIME ZONE: a time in a gap
// with the offset before it, a time in an overlap with the offset after it.
// Throws std::runtime_error when a zone name is unknown (a mapping mistake,
// checked at start-up), not for bad text.
std::optional<std::string> to_datetime(std::string_view text, const std::string& format,
                                       const std::string& from_zone, const std::string& to_zone);

// True when `zone` is an IANA name the tz database knows.
bool is_known_zone(const std::string& zone);

// "Beauty;Health; " split on `delimiter`, each item trimmed, empty items dropped.
std::vector<std::string> split(std::string_view text, std::string_view delimiter);

}  // namespace storygate::coerce
