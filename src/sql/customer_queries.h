#pragma once
// The SQL text of every statement the API runs, generated from a resolved
// mapping. Identifiers come quoted from the catalog; every value from a request
// is a $n parameter. Golden tests pin this text (tests/unit/customer_queries_test).
#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "mapping/catalog.h"

namespace storygate::sql {

// Result columns of the record queries: [0] id, then one per mapped field in
// mapping order, then (list queries only) the row's updated_at and id as text:
// the keyset the next page of the walk resumes after.
//
// `last_updated` ($1 of the statements that take it) is timestamptz text;
// absent, the API passes '-infinity'. A row qualifies when the instant its
// updated_at names (wall-clock columns read in the source zone) is at or after
// it; a date column, when its day is that of last_updated or later. Rows whose
// updated_at or id is NULL are never listed; rows of the relation that share
// both updated_at and id are listed (and counted) once. The filter holds in
// every statement.
// The statements a mapping runs. Code names a statement by this enum, never by
// a string, so a wrong name does not compile.
enum class statement { by_id, count_since, list_since, list_after, count_changed };
inline constexpr std::array<statement, 5> every_statement = {statement::by_id, statement::count_since,
                                                             statement::list_since, statement::list_after,
                                                             statement::count_changed};
// "by_id", "count_since", ...: for messages, logs and prepared statement names.
std::string_view statement_name(statement s);

struct customer_queries {
  std::string by_id;          // $1 id
  std::string count_since;    // $1 last_updated -> count(*), max(updated_at)::text
  std::string list_since;     // $1 last_updated, $2 limit, $3 offset
  std::string list_after;     // $1 updated_at and $2 id of the last row served, $3 limit, $4 last_updated
  std::string count_changed;  // $1 a max(updated_at) from count_since, $2 last_updated -> rows stamped later

  // The one table from statement to SQL.
  const std::string& sql(statement s) const;

  // `overlap` widens every last_updated backwards, so rows committed late by
  // long transactions (stamped before a sync read past them) are sent again.
  static customer_queries build(const mapping::catalog& catalog, std::chrono::seconds overlap);
};

// `field.source_sql` rendered as text in the form the JSON writer expects for
// `field.output` (e.g. datetimes as ISO 8601 with the session zone's offset).
std::string render_field_sql(const mapping::resolved_field& field,
                             const std::string& source_zone_literal);

}  // namespace storygate::sql
