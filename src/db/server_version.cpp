#include "db/server_version.h"

namespace storygate::db {

std::string describe_server_version(int n) {
  // From 10 on, major * 10000 + minor; before, major * 10000 + middle * 100 + minor.
  if (n >= 100000) return std::to_string(n / 10000) + "." + std::to_string(n % 10000);
  return std::to_string(n / 10000) + "." + std::to_string(n / 100 % 100) + "." + std::to_string(n % 100);
}

std::string unsupported_server_reason(int n) {
  if (n == 0 || n >= oldest_supported_server_version) return "";
  return "the database server is PostgreSQL " + describe_server_version(n) + " (server_version_num " +
         std::to_string(n) + "): storygate needs PostgreSQL 10 or later";
}

}  // namespace storygate::db
