#include "db/session_setup.h"

namespace storygate::db {
namespace {

// set_config(name, value, is_local): SET, or SET LOCAL when is_local.
std::vector<setup_statement> settings(int server_version, std::chrono::milliseconds statement_timeout, bool local) {
  const std::string scope = local ? "true" : "false";
  std::vector<setup_statement> statements;
  if (!local)  // a transaction says READ ONLY itself (transaction_setup)
    statements.push_back({"SELECT set_config('default_transaction_read_only', 'on', false)", std::nullopt});
  statements.push_back(
      {"SELECT set_config('statement_timeout', $1, " + scope + ")", std::to_string(statement_timeout.count())});
  if (server_version >= first_version_with_jit)
    statements.push_back({"SELECT set_config('jit', 'off', " + scope + ")", std::nullopt});
  return statements;
}

}  // namespace

std::vector<setup_statement> session_setup(int server_version, std::chrono::milliseconds statement_timeout) {
  return settings(server_version, statement_timeout, false);
}

std::optional<setup_statement> encoding_setup(const std::string& server_encoding, bool local) {
  if (server_encoding != "SQL_ASCII") return std::nullopt;
  return setup_statement{std::string("SELECT set_config('client_encoding', 'SQL_ASCII', ") + (local ? "true" : "false") +
                             ")",
                         std::nullopt};
}

setup_statement time_zone_setup(const std::string& zone, bool local) {
  return {std::string("SELECT set_config('TimeZone', $1, ") + (local ? "true" : "false") + ")", zone};
}

std::vector<setup_statement> transaction_setup(int server_version, std::chrono::milliseconds statement_timeout,
                                               const std::string& zone) {
  std::vector<setup_statement> statements{{"BEGIN READ ONLY", std::nullopt}};
  for (auto& s : settings(server_version, statement_timeout, true)) statements.push_back(std::move(s));
  statements.push_back(time_zone_setup(zone, true));
  return statements;
}

}  // namespace storygate::db
