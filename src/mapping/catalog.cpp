#include "mapping/catalog.h"

#include <limits>

#include "db/pg_types.h"
#include "mapping/loader.h"

namespace storygate::mapping {
namespace {

bool is_integer(const db::pg_type& t) {
  return t.oid == db::oid::int2 || t.oid == db::oid::int4 || t.oid == db::oid::int8;
}
bool is_datetime(const db::pg_type& t) {
  return t.oid == db::oid::timestamp || t.oid == db::oid::timestamptz;
}

[[noreturn]] void fail(const position& where, const std::string& what) {
  throw mapping_error(where.str() + ": " + what);
}

std::vector<std::string> column_names(const db::relation_info& relation) {
  std::vector<std::string> names;
  for (const auto& column : relation.columns) names.push_back(column.name);
  return names;
}

const db::column_info& require_column(const db::relation_info& relation, const located& name,
                                      const std::string& role) {
  if (const auto* column = relation.find_column(name.value)) return *column;
  std::string message = role + ": column '" + name.value + "' does not exist in " +
                        relation.display_name;
  if (auto guess = did_you_mean(name.value, column_names(relation)))
    message += " (did you mean '" + *guess + "'?)";
  fail(name.where, message);
}

void require_time_zone(db::schema_reader& schema, const located& zone) {
  if (!schema.is_time_zone(zone.value))
    fail(zone.where, "unknown time zone '" + zone.value +
                         "'; expected an IANA name such as America/Chicago or UTC");
}

std::string column_sql(const std::string& alias_sql, const db::column_info& column) {
  return alias_sql + "." + db::quote_identifier(column.name);
}

id_kind id_kind_of(const db::pg_type& type) {
  if (is_integer(type)) return id_kind::integer;
  if (type.oid == db::oid::numeric) return id_kind::numeric;
  if (type.oid == db::oid::uuid) return id_kind::uuid;
  return id_kind::text;
}

resolved_field resolve_field(const field& f, const db::relation_info& relation,
                             const catalog& result, db::schema_reader& schema) {
  resolved_field resolved;
  resolved.name = f.name;
  if (f.column) {
    const auto& column = require_column(relation, {*f.column, f.where}, "field '" + f.name + "'");
    resolved.source_sql = column_sql(result.alias_sql, column);
    resolved.source_type = column.type;
  } else {
    resolved.source_sql = "(" + *f.expression + ")";
    try {
      resolved.source_type = schema.expression_type(
          result.relation_sql + " AS " + result.alias_sql, *f.expression);
    } catch (const db::schema_error& e) {
      fail(f.where, "field '" + f.name + "': the expression does not work: " + e.what());
    }
  }
  resolved.output = f.declared == field_type::inferred ? inferred_type(resolved.source_type)
                                                       : f.declared;
  if (!can_serve_as(resolved.source_type, resolved.output))
    fail(f.where, "field '" + f.name + "' is " + resolved.source_type.name +
                      " in the database, which cannot be served as " +
                      std::string(to_string(resolved.output)) + "; declare it as " +
                      std::string(to_string(inferred_type(resolved.source_type))));
  return resolved;
}

}  // namespace

field_type inferred_type(const db::pg_type& type) {
  if (type.oid == db::oid::boolean) return field_type::boolean;
  if (is_integer(type)) return field_type::integer;
  if (type.category == 'N') return field_type::number;
  if (type.oid == db::oid::date) return field_type::date;
  if (is_datetime(type)) return field_type::datetime;
  if (type.category == 'A') return field_type::array;
  if (type.oid == db::oid::json || type.oid == db::oid::jsonb) return field_type::json;
  return field_type::string;
}

bool can_serve_as(const db::pg_type& type, field_type declared) {
  const field_type natural = inferred_type(type);
  switch (declared) {
    case field_type::inferred:
    case field_type::string:
    case field_type::json: return true;
    case field_type::number: return natural == field_type::number || natural == field_type::integer;
    case field_type::datetime:
    case field_type::date:
      return natural == field_type::datetime || natural == field_type::date;
    default: return natural == declared;
  }
}

catalog resolve(const mapping& source, db::schema_reader& schema) {
  catalog result;
  result.source = source;

  std::optional<db::relation_info> relation;
  try {
    relation = schema.find_relation(source.relation.value);
  } catch (const db::schema_error& e) {
    fail(source.relation.where, "'" + source.relation.value + "' is not a valid relation name: " +
                                    e.what());
  }
  if (!relation)
    fail(source.relation.where,
         "relation '" + source.relation.value +
             "' does not exist or this role cannot see it; expected schema.table or schema.view");
  result.relation_sql = relation->quoted_name;
  result.relation_display = relation->display_name;
  result.alias_sql = db::quote_identifier(source.alias.value);

  require_time_zone(schema, source.time_zone);
  require_time_zone(schema, source.source_time_zone);

  const auto& id_column = require_column(*relation, source.id_column, "'id'");
  result.id = {"id", column_sql(result.alias_sql, id_column), id_column.type,
               inferred_type(id_column.type) == field_type::integer ? field_type::integer
                                                                   : field_type::string};
  result.id_match = id_kind_of(id_column.type);
  if (result.id_match == id_kind::text && id_column.type.category != 'S')
    fail(source.id_column.where, "'id' column '" + id_column.name + "' is " + id_column.type.name +
                                     "; expected an integer, numeric, uuid or text column");
  if (result.id_match == id_kind::integer) {
    const bool small = id_column.type.oid == db::oid::int2;
    const bool regular = id_column.type.oid == db::oid::int4;
    result.id_min = small     ? std::numeric_limits<int16_t>::min()
                    : regular ? std::numeric_limits<int32_t>::min()
                              : std::numeric_limits<int64_t>::min();
    result.id_max = small     ? std::numeric_limits<int16_t>::max()
                    : regular ? std::numeric_limits<int32_t>::max()
                              : std::numeric_limits<int64_t>::max();
  }

  const auto& updated = require_column(*relation, source.updated_at_column, "'updated_at'");
  if (!is_datetime(updated.type) && updated.type.oid != db::oid::date)
    fail(source.updated_at_column.where,
         "'updated_at' column '" + updated.name + "' is " + updated.type.name +
             "; expected timestamp with or without time zone, or date");
  result.updated_at = {"updated_at", column_sql(result.alias_sql, updated), updated.type,
                       field_type::datetime};

  for (const auto& f : source.fields) result.fields.push_back(resolve_field(f, *relation, result, schema));
  return result;
}

}  // namespace storygate::mapping
