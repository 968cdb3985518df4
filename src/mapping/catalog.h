#pragma once
// A mapping checked against the database: every field resolved to SQL over the
// source row, with the PostgreSQL type it has and the JSON type it is served
// as. Built once at start-up (and on reload); immutable and shared by all
// requests afterwards.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db/schema.h"
#include "mapping/mapping.h"

namespace storygate::mapping {

// How a value PostgreSQL returns becomes the field's JSON value.
enum class conversion {
  none,                // PostgreSQL renders it (see sql::render_field_sql)
  boolean_from_text,   // 'Y'/'N', 'yes'/'no', 1/0, ...
  number_from_text,    // "1,234.50"
  integer_from_text,   // "42"
  date_from_text,      // `format`
  datetime_from_text,  // `format`, wall clock in `zone`
  array_from_split,    // "Beauty;Health" split on `split`
  constant,            // `constant_json`, no SQL at all
};

struct resolved_field {
  std::string name;        // DailyStory's name
  // `name` as a JSON string, quotes and escapes included: each record's key,
  // written as it is rather than checked for escaping on every record. Set
  // with the name, by name_field().
  std::string json_name;
  std::string source_sql;  // SQL over the source row: alias."column", (expression), ARRAY(...)
  db::pg_type source_type;
  field_type output = field_type::string;  // never `inferred`
  conversion convert = conversion::none;
  std::string format;      // date_from_text, datetime_from_text
  std::string split;       // array_from_split
  std::string zone;        // wall-clock zone of timestamp-without-time-zone values and text date-times
  std::string constant_json;
  std::optional<std::string> default_json;  // served instead of null
  int sql_column = -1;     // result column of the record queries; -1 for constants
};

// Names `field` (DailyStory's name) and sets the JSON text records write it as.
void name_field(resolved_field& field, std::string name);

// How the id column is matched against the request's {id}.
enum class id_kind { integer, numeric, uuid, text };

struct catalog {
  mapping source;                // as written, for positions and messages
  std::string relation_sql;      // "schema"."table"
  std::string relation_display;  // schema.table
  std::string alias_sql;         // "customer"
  resolved_field id;             // served as "id"
  id_kind id_match = id_kind::text;
  bool id_unique = false;        // a unique index on the id column alone: no two rows share an id
  int64_t id_min = 0, id_max = 0;  // bounds when id_match is integer
  resolved_field updated_at;     // its output is datetime or date
  std::string filter_sql;        // "(predicate)" or empty
  std::vector<resolved_field> fields;
  int sql_columns = 1;           // result columns of a record: id and every non-constant field
  std::string database_encoding = "UTF8";  // PostgreSQL's name for it: "WIN1252", "LATIN1", ...
};

using catalog_ptr = std::shared_ptr<const catalog>;

// Checks the mapping against the database behind `schema`: the relation and
// every column exist, expressions compile, time zones are known, declared
// types fit. Throws mapping_error ("file:line:column: ...") on the first
// problem, db::schema_error's text included where PostgreSQL refused.
catalog resolve(const mapping& source, db::schema_reader& schema);

// The JSON type a PostgreSQL type is served as when the mapping declares none.
field_type inferred_type(const db::pg_type& type);

// Whether a value of `type` can be served as `declared`.
bool can_serve_as(const db::pg_type& type, field_type declared);

}  // namespace storygate::mapping
