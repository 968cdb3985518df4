#include "json/plain_text.h"

#include <cstdint>
#include <cstring>

namespace storygate::json {
namespace {

constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

// Non-zero when a byte of `eight` is below `n` (n <= 128). The borrow of one
// byte can spoil the next byte's bit, but only after a byte that is itself
// below n, so "is there one" is answered exactly ("Bit Twiddling Hacks",
// Determine if a word has a byte less than n).
constexpr std::uint64_t any_below(std::uint64_t eight, unsigned n) {
  return (eight - ones * n) & ~eight & high_bits;
}

// Non-zero when a byte of `eight` is 0x7F or has its high bit set. Adding 1
// carries out of a byte only when it is 0xFF, itself a hit.
constexpr std::uint64_t any_above_tilde(std::uint64_t eight) { return ((eight + ones) | eight) & high_bits; }

// True when all eight bytes are plain.
bool all_plain(std::uint64_t eight) {
  return (any_below(eight, 0x20) | any_above_tilde(eight) | any_below(eight ^ (ones * '"'), 1) |
          any_below(eight ^ (ones * '\\'), 1)) == 0;
}

}  // namespace

// Eight bytes at a time, with no branch per byte. Most keys and values are
// shorter than 16 bytes, so the last part is read as one word too: the last
// eight bytes again (overlapping is harmless), or, for a shorter text, the
// text padded with plain bytes.
bool is_plain_text(std::string_view text) {
  std::uint64_t eight;
  if (text.empty()) return true;  // (its data() may be null, which memcpy must not get)
  if (text.size() < sizeof eight) {
    eight = ones * 'a';
    std::memcpy(&eight, text.data(), text.size());
    return all_plain(eight);
  }
  for (std::size_t i = 0; i + sizeof eight <= text.size(); i += sizeof eight) {
    std::memcpy(&eight, text.data() + i, sizeof eight);
    if (!all_plain(eight)) return false;
  }
  std::memcpy(&eight, text.data() + text.size() - sizeof eight, sizeof eight);
  return all_plain(eight);
}

}  // namespace storygate::json
