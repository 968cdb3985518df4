#pragma once
// A short, stable name for whoever sends a request, to tell clients apart in
// memory (sync cursors) and logs without keeping or printing the credential:
// HMAC-SHA-256 over the canonical scheme and credential (so "Bearer x" and
// "bearer  x" are one client), under a key the process holds.
//
// The key is random per process unless one is set: replicas that must
// derive the same cursor key for the same client (a shared cursor store)
// share the key through --client-key-file or STORYGATE_CLIENT_KEY. Without
// the key, a fingerprint in a log cannot be checked against guessed tokens.
//
// Thread-safe once the key is set; set it before serving.
#include <string>
#include <string_view>

namespace storygate::auth {

// Shortest key accepted: 32 bytes, as long as the HMAC's output.
inline constexpr std::size_t min_client_key_bytes = 32;

// REQUIRES: no thread is computing a fingerprint. Throws credentials_error
// when `key` is shorter than min_client_key_bytes.
void set_client_key(std::string key);

// Reads the key from a secret file (its content, without trailing
// white space). Throws credentials_error when the file is unreadable, or
// readable or writable by every user.
std::string read_client_key_file(const std::string& path);

// 32 hex digits (128 bits of the HMAC) naming the client that sends
// `authorization_header`.
std::string client_fingerprint(std::string_view authorization_header);

}  // namespace storygate::auth
