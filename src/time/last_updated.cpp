#include "time/last_updated.h"

#include <charconv>

namespace storygate::time {
namespace {

// A cursor over the text; every read either consumes what it matched or
// leaves the position alone.
class scanner {
 public:
  explicit scanner(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ == text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  bool take(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  // Exactly `digits` decimal digits.
  std::optional<int> number(std::size_t digits) {
    if (text_.size() - pos_ < digits) return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
      char c = text_[pos_ + i];
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    pos_ += digits;
    return value;
  }

  // One to `max_digits` digits, returned as text.
  std::optional<std::string_view> digit_run(std::size_t max_digits) {
    std::size_t end = pos_;
    while (end < text_.size() && end - pos_ < max_digits && text_[end] >= '0' &&
           text_[end] <= '9')
      ++end;
    if (end == pos_) return std::nullopt;
    auto run = text_.substr(pos_, end - pos_);
    pos_ = end;
    return run;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

std::string two_digits(int v) {
  return {static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)};
}

// Parses the part after the time: nothing, Z, or [+-]HH[[:]MM].
// Appends the normalized offset to `out`; returns false when malformed.
bool parse_offset(scanner& in, instant_text& out) {
  if (in.at_end()) return true;
  if (in.take('Z') || in.take('z')) {
    out.literal += "+00:00";
    out.has_offset = true;
    return in.at_end();
  }
  char sign = in.peek();
  if (sign != '+' && sign != '-' && sign != ' ') return false;
  in.take(sign);
  auto hours = in.number(2);
  if (!hours || *hours > 15) return false;
  int minutes = 0;
  if (!in.at_end()) {
    in.take(':');
    auto m = in.number(2);
    if (!m || *m > 59) return false;
    minutes = *m;
  }
  if (!in.at_end()) return false;
  out.literal += sign == '-' ? '-' : '+';
  out.literal += two_digits(*hours) + ":" + two_digits(minutes);
  out.has_offset = true;
  return true;
}

}  // namespace

std::optional<instant_text> parse_last_updated(std::string_view text) {
  if (text.size() > 40) return std::nullopt;
  scanner in(text);
  auto year = in.number(4);
  if (!year || *year < 1 || !in.take('-')) return std::nullopt;
  auto month = in.number(2);
  if (!month || *month < 1 || *month > 12 || !in.take('-')) return std::nullopt;
  auto day = in.number(2);
  if (!day || *day < 1 || *day > days_in_month(*year, *month)) return std::nullopt;

  instant_text result;
  result.literal = std::string(text.substr(0, 10));
  if (in.at_end()) {
    result.literal += " 00:00:00";
    return result;
  }
  if (!in.take('T') && !in.take('t') && !in.take(' ')) return std::nullopt;

  auto hour = in.number(2);
  if (!hour || *hour > 23 || !in.take(':')) return std::nullopt;
  auto minute = in.number(2);
  if (!minute || *minute > 59) return std::nullopt;
  int second = 0;
  std::string fraction;
  if (in.take(':')) {
    auto s = in.number(2);
    if (!s || *s > 59) return std::nullopt;
    second = *s;
    if (in.take('.') || in.take(',')) {
      auto digits = in.digit_run(7);
      if (!digits || digits->size() > 6) return std::nullopt;
      fraction = "." + std::string(*digits);
    }
  }
  result.literal += " " + two_digits(*hour) + ":" + two_digits(*minute) + ":" +
                    two_digits(second) + fraction;
  if (!parse_offset(in, result)) return std::nullopt;
  return result;
}

}  // namespace storygate::time
