#pragma once
// Turns the operator's database URL into the libpq connection string storygate
// uses: the operator's settings kept, storygate's defaults (application_name,
// connect timeout, TCP keepalives) added where the operator set none, and
// client_encoding UTF8 always.
#include <chrono>
#include <stdexcept>
#include <string>

namespace storygate::db {

class conninfo_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct connection_defaults {
  std::chrono::milliseconds connect_timeout{3000};
};

// `url` is a postgresql:// URL or a key=value string, or empty for libpq's
// PG* environment variables. Throws conninfo_error (without echoing the URL,
// which may hold a password) when libpq cannot parse it.
std::string build_conninfo(const std::string& url, const connection_defaults& defaults);

// "host:port/dbname as user" for logs ("h1:p1,h2:p2/dbname as user" with
// several hosts): never the password.
std::string describe_target(const std::string& conninfo);

}  // namespace storygate::db
