#pragma once
// SHA-256 (OpenSSL) as lower-case hex: names for things that must be the same
// on every replica and reveal nothing of what they were computed from.
//
// Pure; thread-safe.
#include <string>
#include <string_view>

namespace storygate::cursors {

std::string sha256_hex(std::string_view data);

}  // namespace storygate::cursors
