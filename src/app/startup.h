#pragma once
// The start-up steps `serve` and `check` share: credentials, the database
// connection string, and the mapping checked against the database. Every
// failure is a startup_error whose what() is one line that points at the cause.
#include <memory>
#include <stdexcept>
#include <string>

#include "api/customer_api.h"
#include "auth/authenticator.h"
#include "config/settings.h"

namespace pqxx {
class connection_base;
}

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

// A session set up as the pool's are; throws startup_error saying why not.
std::unique_ptr<pqxx::connection_base> connect(const config::settings& settings, const std::string& conninfo);

// Loads the mapping file and resolves it against the database.
std::shared_ptr<const api::compiled_mapping> load_mapping(const config::settings& settings,
                                                          const std::string& conninfo);

}  // namespace storygate::app
