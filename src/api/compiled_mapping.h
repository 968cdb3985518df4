#pragma once
// A mapping ready to serve: its catalog, the SQL of its statements, and the
// statement set every pooled connection prepares before running one of them.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "db/pool.h"
#include "mapping/catalog.h"
#include "sql/customer_queries.h"

namespace storygate::api {

struct compiled_mapping {
  mapping::catalog_ptr catalog;
  sql::customer_queries queries;
  // Every sql::statement, by its number, then the window statement (below).
  // Names carry `generation`, so two versions never share a name, on one
  // connection or (through pgbouncer) on a server connection two processes share.
  std::shared_ptr<const db::statement_set> statements;
  uint64_t generation = 0;
  // The same on every replica for the same SQL and time zone (SHA-256): a walk
  // continues by keyset only under the version it started with.
  std::string version;
  // Which result columns the `_as_bytes` statements read as hex bytes.
  std::vector<bool> as_bytes_columns;

  static std::shared_ptr<const compiled_mapping> compile(mapping::catalog catalog,
                                                        std::chrono::seconds sync_overlap);

  db::query_call call(sql::statement s, db::pipeline_connection::parameters params) const;
  // `since` (timestamptz text) moved back by `by`, as text PostgreSQL reads
  // back as the same instant (the session's zone, with its offset): the
  // statements' SQL stays as it is, only the value bound to it moves.
  db::query_call widen(const std::string& since, std::chrono::seconds by) const;
  // The name a statement is prepared under (EXPLAIN EXECUTE uses it).
  const std::string& prepared_name(sql::statement s) const;
};

}  // namespace storygate::api
