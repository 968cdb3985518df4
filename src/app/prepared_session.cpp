#include "app/prepared_session.h"

#include "app/startup.h"
#include "db/pool.h"
#include "db/schema.h"

namespace storygate::app {

prepared_session::prepared_session(const config::settings& s, const std::string& conninfo,
                                   const api::compiled_mapping& m)
    : prepared_session(connect(s, conninfo), s, m) {}

prepared_session::prepared_session(std::unique_ptr<pqxx::connection> session, const config::settings& s,
                                   const api::compiled_mapping& m)
    : connection(std::move(session)), in_transaction(s.pgbouncer) {
  if (in_transaction) {
    pqxx::nontransaction begin(*connection);
    begin.exec("BEGIN READ ONLY" + db::jit_off(*connection, "LOCAL "));
  }
  db::lease lease{*connection, generation};
  api::prepare(lease, m);
  // libpqxx prepares lazily; have PostgreSQL parse and plan every statement
  // now, so a mapping that cannot run (an aggregate in a field, a type that
  // does not compare) is refused here, and EXPLAIN EXECUTE finds them.
  for (const char* name : api::statement_bases) {
    try {
      connection->prepare_now(api::statement_name(name, m.generation));
    } catch (const pqxx::sql_error& e) {
      throw statement_error("the mapping's " + std::string(name) + " query does not run on the database: " +
                            db::first_line(e.what()));
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
