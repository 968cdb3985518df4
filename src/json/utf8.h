#pragma once
// Text from a legacy database is untrusted: an SQL_ASCII database hands back
// whatever bytes were stored. JSON must be valid UTF-8.
#include <string>
#include <string_view>

namespace storygate::json {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` with every byte that is not part of well-formed UTF-8 replaced by
// U+FFFD, so one bad byte costs one character, not the record.
std::string repair_utf8(std::string_view text);

}  // namespace storygate::json
