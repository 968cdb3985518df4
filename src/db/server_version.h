#pragma once
// Which PostgreSQL servers storygate serves from: 10 and later, the majors
// its tests run on (scripts/test.sh, tests/pg-versions). An older server is
// refused at start-up, and by `check`, with one line that names its version,
// rather than served from untested queries.
//
// Pure functions of libpq's PQserverVersion(), which is the server's
// server_version_num (90624 for 9.6.24, 100023 for 10.23). Thread-safe.
#include <string>

namespace storygate::db {

// server_version_num of PostgreSQL 10.0.
constexpr int oldest_supported_server_version = 100000;

// "10.23" for 100023, "9.6.24" for 90624 (numbering changed with 10).
std::string describe_server_version(int server_version_num);

// Empty when storygate supports a server that reports `server_version_num`;
// otherwise the one line that refuses it, naming its version. 0 (libpq could
// not tell, e.g. behind a proxy that does not pass the version on) is let
// through: only a server known to be too old is refused.
std::string unsupported_server_reason(int server_version_num);

}  // namespace storygate::db
