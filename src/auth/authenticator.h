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
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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
  // are skipped. Throws credentials_error when unreadable, world-readable
  // or empty.
  void add_bearer_token_file(const std::string& path);
  void add_basic_file(const std::string& path);

  bool requires_credentials() const { return !accepted_.empty(); }
  std::size_t credential_count() const { return accepted_.size(); }

  verdict check(std::string_view authorization_header) const;

 private:
  void add(std::string_view scheme, std::string_view secret);
  bool matches(std::string_view scheme, std::string_view secret) const;

  std::vector<digest> accepted_;
};

// A short, stable name for whoever sends `authorization_header` (a prefix of
// its SHA-256), to tell clients apart in memory and logs without keeping or
// printing the credential.
std::string client_fingerprint(std::string_view authorization_header);

// The value of WWW-Authenticate on a 401.
inline constexpr std::string_view challenge = "Basic realm=\"storygate\", Bearer realm=\"storygate\"";

}  // namespace storygate::auth
