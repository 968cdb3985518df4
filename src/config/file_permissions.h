#pragma once
// Files storygate trusts enough to act on: credentials, keys, and the
// mapping (it holds SQL and is reloaded on its own when it changes). A file
// any local user can write lets that user choose what storygate accepts or
// runs; a secret any local user can read is no secret.
//
// Stateless; safe from any thread.
#include <optional>
#include <string>

namespace storygate::config {

enum class file_kind {
  secret,  // credentials and keys: neither readable nor writable by every user
  trusted  // the mapping: readable by all is fine, writable by all is not
};

// Why `path` must not be used ("writable by every user; run chmod o-w on
// it"), or nullopt when it may. A file that cannot be looked at is left to
// the caller's read to report.
std::optional<std::string> unsafe_file(const std::string& path, file_kind kind);

}  // namespace storygate::config
