#pragma once
// The start-up steps `serve` and `check` share: credentials, the database
// connection string, and the mapping checked against the database. Every
// failure is a startup_error whose what() is one line that points at the cause.
#include <memory>
#include <stdexcept>
#include <string>

#include <pqxx/connection>

#include "api/compiled_mapping.h"
#include "auth/authenticator.h"
#include "config/settings.h"
#include "db/pool.h"
#include "observe/metrics.h"

namespace storygate::app {

class startup_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// From STORYGATE_BEARER_TOKENS, STORYGATE_BASIC_CREDENTIALS and the --*-file
// options. Refuses to return an empty set unless --no-auth was given.
auth::authenticator load_credentials(const config::settings& settings);

// The libpq connection string for --database-url with storygate's defaults.
std::string connection_string(const config::settings& settings);

// The pool's settings: the primary `conninfo`, the replicas, the limits.
// `metrics` (may be null) is told each query's duration.
db::pool_options pool_options_for(const config::settings& settings, const std::string& conninfo,
                                  observe::metrics* metrics = nullptr);

// A session set up as the pool's are; throws startup_error saying why not,
// also when the server is older than storygate supports (db/server_version.h).
std::unique_ptr<pqxx::connection> connect(const config::settings& settings, const std::string& conninfo);

// Loads the mapping file and resolves it against the database.
std::shared_ptr<const api::compiled_mapping> load_mapping(const config::settings& settings,
                                                          const std::string& conninfo);

}  // namespace storygate::app
