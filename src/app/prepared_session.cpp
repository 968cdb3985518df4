#include "app/prepared_session.h"

#include "app/startup.h"
#include "db/pqxx_session.h"
#include "db/schema.h"
#include "db/session_setup.h"

namespace storygate::app {

prepared_session::prepared_session(const config::settings& s, const std::string& conninfo,
                                   const api::compiled_mapping& m)
    : prepared_session(connect(s, conninfo), s, m) {}

prepared_session::prepared_session(std::unique_ptr<pqxx::connection> session, const config::settings& s,
                                   const api::compiled_mapping& m)
    : connection(std::move(session)), in_transaction(s.pgbouncer) {
  const auto& zone = m.statements->time_zone;
  auto setup = in_transaction ? db::transaction_setup(connection->server_version(), s.statement_timeout, zone)
                              : std::vector<db::setup_statement>{db::time_zone_setup(zone, false)};
  // Customers' text read as the request path reads it (an SQL_ASCII
  // database's bytes as stored): `check` samples it.
  if (auto encoding = db::encoding_setup(m.catalog->database_encoding, in_transaction))
    setup.push_back(std::move(*encoding));
  db::run_setup(*connection, setup);
  // libpqxx prepares lazily; have PostgreSQL parse and plan every statement
  // now, so a mapping that cannot run (an aggregate in a field, a type that
  // does not compare) is refused here, and EXPLAIN EXECUTE finds them.
  for (const auto statement : sql::every_statement) {
    const auto& name = m.prepared_name(statement);
    connection->prepare(name, m.queries.sql(statement));
    try {
      connection->prepare_now(name);
    } catch (const pqxx::sql_error& e) {
      throw statement_error("the mapping's " + std::string(sql::statement_name(statement)) +
                            " query does not run on the database: " + db::first_line(e.what()));
    }
  }
}

prepared_session::~prepared_session() {
  if (!in_transaction) return;
  try {
    pqxx::nontransaction end(*connection);
    end.exec("DEALLOCATE ALL; ROLLBACK");
  } catch (const std::exception&) {
    // The connection is closed next anyway.
  }
}

}  // namespace storygate::app
