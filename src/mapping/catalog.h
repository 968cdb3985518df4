#pragma once
// A mapping checked against the database: every field resolved to SQL over the
// source row, with the PostgreSQL type it has and the JSON type it is served
// as. Built once at start-up (and on reload); immutable and shared by all
// requests afterwards.
#include <memory>
#include <string>
#include <vector>

#include "db/schema.h"
#include "mapping/mapping.h"

namespace storygate::mapping {

struct resolved_field {
  std::string name;        // DailyStory's name
  std::string source_sql;  // SQL over the source row: alias."column" or (expression)
  db::pg_type source_type;
  field_type output = field_type::string;  // never `inferred`
};

// How the id column is matched against the request's {id}.
enum class id_kind { integer, numeric, uuid, text };

struct catalog {
  mapping source;                // as written, for positions and messages
  std::string relation_sql;      // "schema"."table"
  std::string relation_display;  // schema.table
  std::string alias_sql;         // "customer"
  resolved_field id;             // served as "id"
  id_kind id_match = id_kind::text;
  int64_t id_min = 0, id_max = 0;  // bounds when id_match is integer
  resolved_field updated_at;     // its output is datetime or date
  std::vector<resolved_field> fields;
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
