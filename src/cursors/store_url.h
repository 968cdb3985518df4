#pragma once
// Where the shared cursor store is: a redis:// URL as Redis clients write it,
// redis://[[user]:password@]host[:port][/db], or rediss:// for TLS. The password may instead come
// from a file (--cursor-store-password-file), so it stays off the command line.
//
// Pure; thread-safe.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace storygate::cursors {

struct store_target {
  std::string host;
  uint16_t port = 6379;
  std::string user;      // Redis 6 ACL user; empty: the default user
  std::string password;  // empty: no AUTH
  unsigned database = 0;  // SELECT
  bool tls = false;       // rediss://
};

// What is wrong with a URL; what() never repeats the password.
class store_url_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws store_url_error for anything but a well-formed redis:// or
// rediss:// (TLS) URL.
store_target parse_store_url(const std::string& url);

// The first line of `path`, the store's password; throws store_url_error
// when it cannot be read, is empty, or is readable by every user.
std::string read_store_password(const std::string& path);

}  // namespace storygate::cursors
