#include "app/startup.h"

#include <boost/asio/ip/address.hpp>
#include <pqxx/pqxx>

#include <cstdlib>

#include "app/prepared_session.h"
#include "db/conninfo.h"
#include "db/pool.h"
#include "db/pqxx_session.h"
#include "db/schema.h"
#include "db/server_version.h"
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
    // The key naming clients in sync cursors and logs: shared by replicas
    // when given, random for this process otherwise.
    if (!settings.client_key_file.empty()) auth::set_client_key(auth::read_client_key_file(settings.client_key_file));
    else if (const char* key = std::getenv("STORYGATE_CLIENT_KEY")) auth::set_client_key(key);
  } catch (const auth::credentials_error& e) {
    throw startup_error(e.what());
  }
  if (!credentials.requires_credentials() && !settings.allow_anonymous)
    throw startup_error(
        "no credentials configured: set STORYGATE_BEARER_TOKENS or STORYGATE_BASIC_CREDENTIALS, "
        "or pass --bearer-token-file/--basic-auth-file (or --no-auth for a trial on loopback)");
  if (credentials.requires_credentials() && settings.allow_anonymous)
    throw startup_error("--no-auth was given together with credentials; choose one");
  // Without credentials, whoever can connect reads every customer: only
  // processes on this machine may.
  boost::system::error_code ec;
  const auto listen = boost::asio::ip::make_address(settings.listen_address, ec);
  if (settings.allow_anonymous && !ec && !listen.is_loopback())
    throw startup_error("--no-auth is refused on " + settings.listen_address +
                        ": without credentials anyone who can connect reads every customer; listen on a loopback "
                        "address (127.0.0.1, ::1) or configure credentials");
  return credentials;
}

std::string connection_string(const config::settings& settings) {
  try {
    return db::build_conninfo(settings.database_url, {settings.connect_timeout});
  } catch (const db::conninfo_error& e) {
    throw startup_error(e.what());
  }
}

db::pool_options pool_options_for(const config::settings& s, const std::string& conninfo,
                                  observe::metrics* metrics) {
  db::pool_options options;
  options.conninfo = conninfo;
  for (const auto& url : s.replica_urls) {
    try {
      options.replicas.push_back(db::build_conninfo(url, {s.connect_timeout}));
    } catch (const db::conninfo_error& e) {
      throw startup_error(std::string("a replica URL: ") + e.what());
    }
  }
  options.session_state = !s.pgbouncer;
  options.size = s.db_pool_size;
  options.wait = s.pool_wait;
  options.statement_timeout = s.statement_timeout;
  options.connect_timeout = s.connect_timeout;
  options.max_replica_lag = s.max_replica_lag;
  if (metrics) options.query_done = [metrics](std::chrono::duration<double> took) { metrics->query_done(took); };
  return options;
}

std::unique_ptr<pqxx::connection> connect(const config::settings& settings, const std::string& conninfo) {
  try {
    auto connection = db::open_session(conninfo, !settings.pgbouncer, settings.statement_timeout);
    // Every start-up step and tool opens its first session here.
    if (auto refusal = db::unsupported_server_reason(connection->server_version()); !refusal.empty())
      throw startup_error(refusal + " (" + db::describe_target(conninfo) + ")");
    return connection;
  } catch (const startup_error&) {
    throw;
  } catch (const std::exception& e) {
    // libpq's reason names host, port, user and what failed, never the password.
    throw startup_error("cannot connect to the database " + db::describe_target(conninfo) + ": " +
                        db::one_line(e.what()));
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
    std::shared_ptr<const api::compiled_mapping> compiled;
    {
      db::schema_reader schema(*connection);
      compiled = api::compiled_mapping::compile(mapping::resolve(written, schema), settings.sync_overlap);
    }
    // Every field can be right on its own and the statements still not run
    // (an aggregate such as count(*) in a field): prepared as the server will
    // run them, or the mapping is refused.
    prepared_session proof(std::move(connection), settings, *compiled);
    return compiled;
  } catch (const mapping::mapping_error& e) {
    throw startup_error(e.what());
  } catch (const statement_error& e) {
    throw startup_error(settings.mapping_file + ": " + e.what());
  } catch (const pqxx::failure& e) {
    throw startup_error(std::string("the database failed while checking the mapping: ") + e.what());
  }
}

}  // namespace storygate::app
