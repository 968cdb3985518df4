#pragma once
// Sessions opened with libpqxx, for start-up, reloads and the tools (which
// block and run a handful of statements; the request path uses db/pool.h),
// set up as db/session_setup.h says, as the pool's are.
#include <pqxx/connection>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "db/session_setup.h"

namespace storygate::db {

// Runs set-up statements in order; throws what libpqxx throws.
void run_setup(pqxx::connection_base& connection, const std::vector<setup_statement>& statements);

// Opens a session to `conninfo` set up as a pooled one: read-only, with the
// statement timeout and JIT off (unless `session_state` is off: behind
// pgbouncer that is done per transaction). Throws what libpqxx throws.
std::unique_ptr<pqxx::connection> open_session(const std::string& conninfo, bool session_state,
                                               std::chrono::milliseconds statement_timeout);

}  // namespace storygate::db
