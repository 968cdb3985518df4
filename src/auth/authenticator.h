#pragma once
// Checks the Authorization header against the accepted credentials: any number
// of Bearer tokens and Basic user:password pairs, so a partner can rotate them
// without downtime.
//
// Only SHA-256 digests are kept, and a presented credential's digest is
// compared with every accepted one in constant time: neither the length nor
// the content of a secret leaks through timing.
//
// Immutable after construction; safe to share between threads.
#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "auth/fingerprint.h"  // client_fingerprint, declared with the credentials it names
#include "auth/remembered_credential.h"

namespace storygate::auth {

// A credentials file or variable that cannot be used; what() says why.
class credentials_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class verdict { accepted, missing, malformed, rejected };

class authenticator {
 public:
  using digest = std::array<unsigned char, 32>;

  // No credentials: every request is accepted (only with --no-auth).
  authenticator() = default;

  void add_bearer_token(std::string_view token);
  void add_basic(std::string_view user_colon_password);

  // Tokens separated by white space (STORYGATE_BEARER_TOKENS).
  void add_bearer_tokens_from_text(std::string_view text);
  // user:password pairs separated by white space (STORYGATE_BASIC_CREDENTIALS).
  void add_basic_from_text(std::string_view text);
  // Files hold one credential a line; blank lines and lines starting with '#'
  // are skipped. Throws credentials_error when unreadable, readable or
  // writable by every user, or empty.
  void add_bearer_token_file(const std::string& path);
  void add_basic_file(const std::string& path);

  bool requires_credentials() const { return !accepted_.empty(); }
  std::size_t credential_count() const { return accepted_.size(); }

  verdict check(std::string_view authorization_header) const;
  // The same verdict, for a connection that remembers the header it last
  // had accepted: that one is accepted without being hashed again, and a
  // header accepted now is remembered.
  verdict check(std::string_view authorization_header, remembered_credential& last_accepted) const;

 private:
  void add(std::string_view scheme, std::string_view secret);
  bool matches(std::string_view scheme, std::string_view secret) const;

  std::vector<digest> accepted_;
};

// A credential as presented, in canonical form: scheme "bearer" with the
// token, or "basic" with the decoded user:password. nullopt when the header
// is empty or malformed.
struct presented_credential {
  std::string scheme;
  std::string secret;
};
std::optional<presented_credential> read_authorization(std::string_view authorization_header);

// One credential a line; blank lines and '#' comments skipped. Throws
// credentials_error when the file is unreadable, readable or writable by
// every user, or holds nothing.
std::vector<std::string> read_secret_lines(const std::string& path);

// The value of WWW-Authenticate on a 401.
inline constexpr std::string_view challenge = "Basic realm=\"storygate\", Bearer realm=\"storygate\"";

}  // namespace storygate::auth
