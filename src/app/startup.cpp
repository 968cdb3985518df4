#include "app/startup.h"

#include <pqxx/pqxx>

#include <cstdlib>

#include "db/conninfo.h"
#include "db/pool.h"
#include "db/schema.h"
#include "mapping/loader.h"

namespace storygate::app {

auth::authenticator load_credentials(const config::settings& settings) {
  auth::authenticator credentials;
  try {
    if (const char* tokens = std::getenv("STORYGATE_BEARER_TOKENS"))
      credentials.add_bearer_tokens_from_text(tokens);
    if (const char* pairs = std::getenv("STORYGATE_BASIC_CREDENTIALS"))
      credentials.add_basic_from_text(pairs);
    for (const auto& file : settings.bearer_token_files) credentials.add_bearer_token_file(file);
    for (const auto& file : settings.basic_auth_files) credentials.add_basic_file(file);
  } catch (const auth::credentials_error& e) {
    throw startup_error(e.what());
  }
  if (!credentials.requires_credentials() && !settings.allow_anonymous)
    throw startup_error(
        "no credentials configured: set STORYGATE_BEARER_TOKENS or STORYGATE_BASIC_CREDENTIALS, "
        "or pass --bearer-token-file/--basic-auth-file (or --no-auth for a trial on loopback)");
  if (credentials.requires_credentials() && settings.allow_anonymous)
    throw startup_error("--no-auth was given together with credentials; choose one");
  return credentials;
}

std::string connection_string(const config::settings& settings) {
  try {
    return db::build_conninfo(settings.database_url, {settings.connect_timeout});
  } catch (const db::conninfo_error& e) {
    throw startup_error(e.what());
  }
}

std::unique_ptr<pqxx::connection_base> connect(const config::settings& settings, const std::string& conninfo) {
  try {
    return db::open_session({conninfo, 1, settings.pool_wait, settings.statement_timeout, {}});
  } catch (const std::exception& e) {
    // libpq's reason names host, port, user and what failed, never the password.
    std::string reason = e.what();
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    for (auto& c : reason)
      if (c == '\n') c = ' ';
    throw startup_error("cannot connect to the database " + db::describe_target(conninfo) + ": " + reason);
  }
}

std::shared_ptr<const api::compiled_mapping> load_mapping(const config::settings& settings,
                                                          const std::string& conninfo) {
  mapping::mapping written;
  try {
    written = mapping::load_mapping_file(settings.mapping_file);
  } catch (const mapping::mapping_error& e) {
    throw startup_error(e.what());
  }

  auto connection = connect(settings, conninfo);
  try {
    db::schema_reader schema(*connection);
    return api::compiled_mapping::compile(mapping::resolve(written, schema), settings.sync_overlap);
  } catch (const mapping::mapping_error& e) {
    throw startup_error(e.what());
  } catch (const pqxx::failure& e) {
    throw startup_error(std::string("the database failed while checking the mapping: ") + e.what());
  }
}

}  // namespace storygate::app
