// libFuzzer target: time::parse_last_updated on arbitrary bytes.
//
// Invariants checked on every accepted input:
//  - the literal is "YYYY-MM-DD HH:MM:SS[.f{1,6}][(+|-)HH:MM]" with a real
//    calendar date, hours 00-23, minutes and seconds 00-59, offset hours 00-15;
//  - has_offset is true exactly when the literal ends in an offset;
//  - parsing the literal again gives the same literal (it is one of the
//    accepted forms, and normalizing is idempotent);
//  - no input longer than 40 bytes is accepted.
// Built only with -DSTORYGATE_FUZZ=ON (tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "time/last_updated.h"

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& literal) {
  std::fprintf(stderr, "last_updated_fuzz: %s\n  input:   \"%.*s\"\n  literal: \"%s\"\n", what,
               static_cast<int>(input.size()), input.data(), literal.c_str());
  std::abort();
}

bool digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return false;
  for (std::size_t i = at; i < at + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

int number(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// Returns an empty string when `literal` has the promised shape, else why not.
// `offset` is set to whether it ends in an offset.
const char* check_shape(std::string_view l, bool& offset) {
  // YYYY-MM-DD HH:MM:SS is 19 bytes.
  if (l.size() < 19) return "literal shorter than YYYY-MM-DD HH:MM:SS";
  if (!digits(l, 0, 4) || l[4] != '-' || !digits(l, 5, 2) || l[7] != '-' || !digits(l, 8, 2) ||
      l[10] != ' ' || !digits(l, 11, 2) || l[13] != ':' || !digits(l, 14, 2) || l[16] != ':' ||
      !digits(l, 17, 2))
    return "literal does not start with YYYY-MM-DD HH:MM:SS";
  const int year = number(l, 0, 4), month = number(l, 5, 2), day = number(l, 8, 2);
  if (year < 1) return "year 0000";
  if (month < 1 || month > 12) return "month out of range";
  if (day < 1 || day > days_in(year, month)) return "day out of range for its month";
  if (number(l, 11, 2) > 23 || number(l, 14, 2) > 59 || number(l, 17, 2) > 59)
    return "time out of range";
  std::size_t at = 19;
  if (at < l.size() && l[at] == '.') {
    std::size_t n = 0;
    while (at + 1 + n < l.size() && l[at + 1 + n] >= '0' && l[at + 1 + n] <= '9') ++n;
    if (n < 1 || n > 6) return "fraction not 1 to 6 digits";
    at += 1 + n;
  }
  offset = false;
  if (at == l.size()) return "";
  if (l.size() - at != 6 || (l[at] != '+' && l[at] != '-') || !digits(l, at + 1, 2) ||
      l[at + 3] != ':' || !digits(l, at + 4, 2))
    return "trailing text is not a (+|-)HH:MM offset";
  if (number(l, at + 1, 2) > 15 || number(l, at + 4, 2) > 59) return "offset out of range";
  offset = true;
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parsed = storygate::time::parse_last_updated(input);
  if (!parsed) return 0;
  if (size > 40) fail("accepted an input longer than 40 bytes", input, parsed->literal);

  bool offset = false;
  if (const char* why = check_shape(parsed->literal, offset); *why) fail(why, input, parsed->literal);
  if (offset != parsed->has_offset) fail("has_offset disagrees with the literal", input, parsed->literal);

  const auto again = storygate::time::parse_last_updated(parsed->literal);
  if (!again) fail("the literal itself is rejected", input, parsed->literal);
  if (again->literal != parsed->literal || again->has_offset != parsed->has_offset)
    fail("normalizing the literal again changes it", input, again->literal);
  return 0;
}
