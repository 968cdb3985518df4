#pragma once
// A database session set up as a pooled one is (read-only, statement
// timeout, JIT off, the mapping's TimeZone) with every statement of a mapping
// prepared and planned by PostgreSQL: what start-up, each reload and the
// tools use to prove a mapping runs before anything is served with it.
//
// Through a transaction-pooling pgbouncer the whole session is one
// transaction: pgbouncer keeps it on one server connection, and what it
// prepared and set is dropped at the end, never left to the next client.
//
// Not thread-safe: one thread at a time, like the connection it holds.
#include <pqxx/pqxx>

#include <memory>
#include <stdexcept>
#include <string>

#include "api/compiled_mapping.h"
#include "config/settings.h"

namespace storygate::app {

// A statement of the mapping that PostgreSQL refuses; what() names the
// statement and gives PostgreSQL's reason on one line.
class statement_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct prepared_session {
  std::unique_ptr<pqxx::connection> connection;
  bool in_transaction = false;

  // Opens a session of its own (throws startup_error when it cannot).
  prepared_session(const config::settings& s, const std::string& conninfo, const api::compiled_mapping& m);
  // Takes over `session`, opened by app::connect for these settings.
  // Throws statement_error for a statement PostgreSQL refuses, and what
  // libpqxx throws when the database fails.
  prepared_session(std::unique_ptr<pqxx::connection> session, const config::settings& s,
                   const api::compiled_mapping& m);
  ~prepared_session();
  prepared_session(const prepared_session&) = delete;
  prepared_session& operator=(const prepared_session&) = delete;
};

}  // namespace storygate::app
