#pragma once
// The SQL text of every statement the API runs, generated from a resolved
// mapping. Identifiers come quoted from the catalog; every value from a request
// is a $n parameter. Golden tests pin this text (tests/unit/customer_queries_test).
#include <string>

#include "mapping/catalog.h"

namespace storygate::sql {

// Result columns of the record queries: [0] id, then one per mapped field in
// mapping order, then (list queries only) the row's updated_at as text, which
// the next page's keyset condition binds back.
struct customer_queries {
  std::string by_id;        // $1 id
  std::string count_since;  // $1 last_updated (timestamptz text)
  std::string list_since;   // $1 last_updated, $2 limit, $3 offset
  std::string count_all;
  std::string list_all;     // $1 limit, $2 offset

  static customer_queries build(const mapping::catalog& catalog);
};

// `field.source_sql` rendered as text in the form the JSON writer expects for
// `field.output` (e.g. datetimes as ISO 8601 with the session zone's offset).
std::string render_field_sql(const mapping::resolved_field& field,
                             const std::string& source_zone_literal);

}  // namespace storygate::sql
