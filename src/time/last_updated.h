#pragma once
// Parsing of the `last_updated` query parameter.
//
// DailyStory sends the time of its last sync. We accept the ISO 8601 shapes a
// client is likely to send and hand PostgreSQL a normalized literal: the zone
// arithmetic (offsets, daylight saving) is PostgreSQL's, which has the tz
// database, not ours.
#include <optional>
#include <string>
#include <string_view>

namespace storygate::time {

// What `last_updated` means, ready to bind as a `timestamptz` parameter.
struct instant_text {
  // "YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]". Without an offset PostgreSQL
  // reads it in the session's TimeZone, which is the mapping's time zone.
  std::string literal;
  bool has_offset = false;
};

// Accepted: a bare date (2022-07-03), a date and time with minutes or seconds
// and up to 6 fractional digits (2022-07-03T12:33:45.5), separated by 'T' or a
// space, optionally followed by 'Z' or an offset (+05:30, -0600, +05).
// A space where an offset's '+' should be is taken as '+': an unencoded '+'
// in a query string decodes to a space.
// Returns nullopt for anything else, including impossible dates (2023-02-29).
std::optional<instant_text> parse_last_updated(std::string_view text);

// The accepted form, for error messages.
inline constexpr std::string_view last_updated_form =
    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS with optional fractional seconds and "
    "an optional offset (Z, +HH:MM, -HHMM)";

}  // namespace storygate::time
