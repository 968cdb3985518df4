#include "mapping/catalog.h"

#include <limits>

#include "coerce/coercions.h"
#include "db/pg_types.h"
#include "json/record_writer.h"
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

const db::pg_type text_type{db::oid::text, 'S', "text"};

// The child-table array of a `children` field, with its element type.
void resolve_children(const field& f, const db::relation_info& source, const catalog& result,
                      db::schema_reader& schema, resolved_field& resolved) {
  const auto& spec = *f.children;
  std::optional<db::relation_info> child;
  try {
    child = schema.find_relation(spec.relation.value);
  } catch (const db::schema_error& e) {
    fail(spec.relation.where, "'" + spec.relation.value + "' is not a valid relation name: " + e.what());
  }
  if (!child)
    fail(spec.relation.where, "field '" + f.name + "': relation '" + spec.relation.value +
                                  "' does not exist or this role cannot see it");
  const auto& key = require_column(*child, spec.key, "field '" + f.name + "' 'key'");
  const auto& value = require_column(*child, spec.value, "field '" + f.name + "' 'value'");
  const auto& join = spec.join ? require_column(source, *spec.join, "field '" + f.name + "' 'join'")
                               : *source.find_column(result.source.id_column.value);
  const std::string child_alias = "storygate_child";
  const std::string value_sql = child_alias + "." + db::quote_identifier(value.name);
  // Distinct and ordered: the same list for the same data, every time.
  resolved.source_sql = "ARRAY(SELECT DISTINCT " + value_sql + " FROM " + child->quoted_name + " AS " +
                        child_alias + " WHERE " + child_alias + "." + db::quote_identifier(key.name) +
                        " = " + column_sql(result.alias_sql, join) + " AND " + value_sql +
                        " IS NOT NULL ORDER BY 1)";
  resolved.source_type = {0, 'A', value.type.name + "[]"};
}

// Text clean-ups, in SQL: they cannot fail, and PostgreSQL does them where the data is.
void apply_cleanups(const field& f, resolved_field& resolved) {
  if (!f.trim && !f.lower && !f.digits_only) return;
  std::string sql = "(" + resolved.source_sql + ")::text";
  if (f.trim) sql = "btrim(" + sql + ")";
  if (f.lower) sql = "lower(" + sql + ")";
  if (f.digits_only) sql = "NULLIF(regexp_replace(" + sql + ", '[^0-9]', '', 'g'), '')";
  resolved.source_sql = sql;
  resolved.source_type = text_type;
}

// What `declared` needs when the value's own type does not fit: a conversion
// of its text, or a mistake to report.
conversion conversion_for(const field& f, const resolved_field& r) {
  const bool text = r.source_type.category == 'S';
  const bool whole = is_integer(r.source_type);
  switch (f.declared) {
    case field_type::boolean:
      if (text || whole) return conversion::boolean_from_text;
      break;
    case field_type::integer:
      if (text) return conversion::integer_from_text;
      break;
    case field_type::number:
      if (text) return conversion::number_from_text;
      break;
    case field_type::date:
      if (text) return conversion::date_from_text;
      break;
    case field_type::datetime:
      if (text) return conversion::datetime_from_text;
      break;
    case field_type::array:
      if (text && f.split) return conversion::array_from_split;
      if (text) fail(f.where, "field '" + f.name + "' is text in the database; to serve it as an array, "
                                                    "say how items are separated, e.g. split: \";\"");
      break;
    default: break;
  }
  fail(f.where, "field '" + f.name + "' is " + r.source_type.name +
                    " in the database, which cannot be served as " + std::string(to_string(f.declared)) +
                    "; declare it as " + std::string(to_string(inferred_type(r.source_type))));
}

field_type constant_type(const std::string& json) {
  if (json == "true" || json == "false") return field_type::boolean;
  if (!json.empty() && json[0] == '"') return field_type::string;
  return json.find_first_of(".eE") == std::string::npos ? field_type::integer : field_type::number;
}

resolved_field resolve_field(const field& f, const db::relation_info& relation,
                             const catalog& result, db::schema_reader& schema) {
  resolved_field resolved;
  name_field(resolved, f.name);
  resolved.default_json = f.default_json;
  resolved.zone = f.time_zone ? f.time_zone->value : result.source.source_time_zone.value;
  if (f.time_zone) require_time_zone(schema, *f.time_zone);

  if (f.constant) {
    resolved.convert = conversion::constant;
    resolved.constant_json = *f.constant;
    resolved.output = f.declared == field_type::inferred ? constant_type(*f.constant) : f.declared;
    return resolved;
  }
  if (f.column) {
    const auto& column = require_column(relation, {*f.column, f.where}, "field '" + f.name + "'");
    resolved.source_sql = column_sql(result.alias_sql, column);
    resolved.source_type = column.type;
  } else if (f.expression) {
    resolved.source_sql = "(" + *f.expression + ")";
    try {
      resolved.source_type = schema.expression_type(
          result.relation_sql + " AS " + result.alias_sql, *f.expression);
    } catch (const db::schema_error& e) {
      fail(f.where, "field '" + f.name + "': the expression does not work: " + e.what());
    }
  } else {
    resolve_children(f, relation, result, schema, resolved);
  }
  apply_cleanups(f, resolved);

  if (f.declared == field_type::inferred) {
    resolved.output = inferred_type(resolved.source_type);
  } else {
    resolved.output = f.declared;
    if (!can_serve_as(resolved.source_type, f.declared) || (f.format && resolved.source_type.category == 'S'))
      resolved.convert = conversion_for(f, resolved);
  }
  if (resolved.convert == conversion::date_from_text) resolved.format = f.format.value_or("%Y-%m-%d");
  if (resolved.convert == conversion::datetime_from_text) {
    resolved.format = f.format.value_or("%Y-%m-%d %H:%M:%S");
    if (!coerce::is_known_zone(resolved.zone) || !coerce::is_known_zone(result.source.time_zone.value))
      fail(f.where, "field '" + f.name + "': time zone '" + resolved.zone +
                        "' is not in this machine's tz database (install tzdata)");
  }
  if (resolved.convert == conversion::array_from_split) resolved.split = *f.split;
  if (f.format && resolved.convert != conversion::date_from_text &&
      resolved.convert != conversion::datetime_from_text)
    fail(f.where, "field '" + f.name + "': 'format' reads text, but the value is " +
                      resolved.source_type.name + " already");
  if (f.default_json == "[]" && resolved.output != field_type::array && resolved.output != field_type::json)
    fail(f.where, "field '" + f.name + "': default [] is for a list (an array column or expression, split or "
                  "children), but the field is served as " + std::string(to_string(resolved.output)));
  return resolved;
}

}  // namespace

void name_field(resolved_field& field, std::string name) {
  field.json_name = json::quoted(name);
  field.name = std::move(name);
}

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
  result.database_encoding = schema.database_encoding();

  require_time_zone(schema, source.time_zone);
  // Usually the same zone: pg_timezone_names is slow to read (tens of ms).
  if (source.source_time_zone.value != source.time_zone.value) require_time_zone(schema, source.source_time_zone);

  const auto& id_column = require_column(*relation, source.id_column, "'id'");
  name_field(result.id, "id");
  result.id.source_sql = column_sql(result.alias_sql, id_column);
  result.id.source_type = id_column.type;
  result.id.output = inferred_type(id_column.type) == field_type::integer ? field_type::integer
                                                                          : field_type::string;
  result.id_match = id_kind_of(id_column.type);
  result.id_unique = schema.unique_column(result.relation_sql, id_column.name);
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

  db::pg_type updated_type;
  if (source.updated_at_is_expression) {
    try {
      updated_type = schema.expression_type(result.relation_sql + " AS " + result.alias_sql,
                                            source.updated_at_column.value);
    } catch (const db::schema_error& e) {
      fail(source.updated_at_column.where, "'updated_at': the expression does not work: " + std::string(e.what()));
    }
    result.updated_at.source_sql = "(" + source.updated_at_column.value + ")";
  } else {
    const auto& updated = require_column(*relation, source.updated_at_column, "'updated_at'");
    updated_type = updated.type;
    result.updated_at.source_sql = column_sql(result.alias_sql, updated);
  }
  if (!is_datetime(updated_type) && updated_type.oid != db::oid::date)
    fail(source.updated_at_column.where,
         "'updated_at' is " + updated_type.name + "; expected timestamp with or without time zone, or date");
  name_field(result.updated_at, "updated_at");
  result.updated_at.source_type = updated_type;
  result.updated_at.output = field_type::datetime;
  result.updated_at.zone = source.source_time_zone.value;
  result.id.zone = source.source_time_zone.value;

  if (source.filter) {
    db::pg_type filter_type;
    try {
      filter_type = schema.expression_type(result.relation_sql + " AS " + result.alias_sql, source.filter->value);
    } catch (const db::schema_error& e) {
      fail(source.filter->where, "'filter': the condition does not work: " + std::string(e.what()));
    }
    if (filter_type.oid != db::oid::boolean)
      fail(source.filter->where, "'filter' is " + filter_type.name + "; expected a true/false condition");
    result.filter_sql = "(" + source.filter->value + ")";
  }

  for (const auto& f : source.fields) {
    result.fields.push_back(resolve_field(f, *relation, result, schema));
    if (result.fields.back().convert != conversion::constant) result.fields.back().sql_column = result.sql_columns++;
  }
  return result;
}

}  // namespace storygate::mapping
