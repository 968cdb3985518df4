#pragma once
// Guessing DailyStory's field names from legacy column names, for
// `storygate init`: fname, first_nm, email_addr, cell, st, ...
#include <optional>
#include <string>
#include <string_view>

namespace storygate::mapping {

// The DailyStory field a legacy column most likely holds, or nullopt.
// Case, '_' and '-' are ignored: FIRST_NM, FirstName and first-name match alike.
std::optional<std::string> guess_field_name(std::string_view column);

// A field name a mapping accepts for a column no DailyStory field fits, for
// the DBA to keep or rename: its ASCII letters and digits lower-cased, any
// other run of characters as one '_' ("Last Visit" -> last_visit, "#notes"
// -> notes), "field_" in front when that leaves no letter to start with or
// `id`; at most 64 characters.
std::string custom_field_name(std::string_view column);

// Whether a column name looks like a change time (updated_at, last_chg_ts, modified, ...).
bool looks_like_change_time(std::string_view column);

}  // namespace storygate::mapping
