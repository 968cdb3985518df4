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
//
// The `_as_bytes` statements are their namesakes with each text field read as
// the database's own bytes (in hex), which PostgreSQL never has to convert: for
// the rows it cannot convert to UTF-8 (a byte WIN1252 leaves undefined), which
// storygate then converts itself (db/database_text.h). Where the database is
// UTF8 or SQL_ASCII nothing is converted, and they are their namesakes.
enum class statement {
  by_id,
  count_since,
  list_since,
  list_after,
  count_changed,
  by_id_as_bytes,
  list_since_as_bytes,
  list_after_as_bytes
};
inline constexpr std::array<statement, 8> every_statement = {
    statement::by_id,          statement::count_since,    statement::list_since,
    statement::list_after,     statement::count_changed,  statement::by_id_as_bytes,
    statement::list_since_as_bytes, statement::list_after_as_bytes};
// "by_id", "count_since", ...: for messages, logs and prepared statement names.
std::string_view statement_name(statement s);

// Whether PostgreSQL converts the database's text to UTF-8 for storygate's
// sessions (any encoding but UTF8 and SQL_ASCII), and so may fail to.
bool text_is_converted(const mapping::catalog& catalog);

// Whether the `_as_bytes` statements read `field` as the database's bytes:
// its text is converted and may hold more than ASCII (strings, arrays, JSON,
// and text the JSON writer converts). The statements never read the id so: a
// walk resumes after the id it served, and looks a customer up by it.
bool read_as_bytes(const mapping::catalog& catalog, const mapping::resolved_field& field);

struct customer_queries {
  std::string by_id;          // $1 id
  std::string count_since;    // $1 last_updated -> count(*), max(updated_at)::text
  std::string list_since;     // $1 last_updated, $2 limit, $3 offset
  std::string list_after;     // $1 updated_at and $2 id of the last row served, $3 limit, $4 last_updated
  std::string count_changed;  // $1 a max(updated_at) from count_since, $2 last_updated -> rows stamped later
  std::string by_id_as_bytes;       // as by_id, text fields as their bytes in hex (see statement)
  std::string list_since_as_bytes;  // as list_since, text fields in hex
  std::string list_after_as_bytes;  // as list_after, text fields in hex

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
