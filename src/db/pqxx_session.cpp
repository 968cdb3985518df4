#include "db/pqxx_session.h"

#include <pqxx/pqxx>

namespace storygate::db {

void run_setup(pqxx::connection_base& connection, const std::vector<setup_statement>& statements) {
  pqxx::nontransaction tx(connection);
  for (const auto& s : statements) {
    if (s.parameter)
      tx.exec_params(s.sql, *s.parameter);
    else
      tx.exec(s.sql);
  }
}

std::unique_ptr<pqxx::connection> open_session(const std::string& conninfo, bool session_state,
                                               std::chrono::milliseconds statement_timeout) {
  auto connection = std::make_unique<pqxx::connection>(conninfo);
  if (session_state) run_setup(*connection, session_setup(connection->server_version(), statement_timeout));
  return connection;
}

}  // namespace storygate::db
