#pragma once
// A walk's state as the shared cursor store keeps it: one JSON document a
// walk position, under a key no other client can name.
//
// The record carries everything another replica needs to continue the walk by
// keyset (the last key sent, the baseline), plus what lets it refuse to: the
// client, the window, the start and the mapping version it was written for.
// A record that does not match the request in every one of them is not used.
//
// Pure functions; thread-safe.
#include <cstdint>
#include <optional>
#include <string>

#include "api/sync_cursors.h"

namespace storygate::cursors {

// Where a walk stands, as a request names it: whose walk, under which
// mapping version, over which window, at which start.
struct walk_position {
  std::string client;           // the client fingerprint (auth::client_fingerprint)
  std::string mapping_version;  // compiled_mapping::version
  std::string since;            // the normalized last_updated, or "-infinity"
  uint64_t start = 0;

  // The key of this position among the replica's own cursors (sync_cursors).
  std::string local_key() const;
};

// The store's key for a position's local key: a prefix and its SHA-256, so
// keys neither reveal the fingerprint nor collide across clients. Taking the
// local key lets a cursor's `continued_from` name its store entry too.
std::string store_key(const std::string& local_key);

// The record for `cursor`, continuing `position`.
std::string encode_walk(const walk_position& position, const api::sync_cursor& cursor);

// The cursor in `record` when it is well-formed and written for exactly
// `position`; nullopt otherwise (another client, mapping or window, a
// corrupt or foreign value).
std::optional<api::sync_cursor> decode_walk(const walk_position& position, const std::string& record);

}  // namespace storygate::cursors
