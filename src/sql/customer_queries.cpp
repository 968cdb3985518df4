#include "sql/customer_queries.h"

#include "db/pg_types.h"

namespace storygate::sql {
namespace {

using mapping::field_type;

// ISO 8601 with the offset of the session's TimeZone, which each connection
// sets to the mapping's time_zone: PostgreSQL applies the tz database.
// TZH:TZM would say it directly, but PostgreSQL 10 has neither (it reads TZH
// as TZ, the zone's abbreviation, then H: "CSTH:CSTM"). OF, there since 9.4, writes the
// offset as +HH, or +HH:MM when it has minutes: the whole hours get their
// ":00" here, which gives exactly what TZH:TZM gives on 11 and later. The value
// (maybe a subquery) is written once and so computed once. E'' reads the same
// whatever standard_conforming_strings says.
std::string iso_datetime(const std::string& timestamptz) {
  return "regexp_replace(to_char(" + timestamptz +
         ", 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), '([+-][0-9][0-9])$', E'\\\\1:00')";
}

// The value as timestamptz: wall-clock columns are read in the source zone.
std::string as_timestamptz(const mapping::resolved_field& f, const std::string& zone) {
  switch (f.source_type.oid) {
    case db::oid::timestamptz: return f.source_sql;
    case db::oid::date: return "(" + f.source_sql + "::timestamp AT TIME ZONE " + zone + ")";
    default: return "(" + f.source_sql + " AT TIME ZONE " + zone + ")";
  }
}

// Constants have no column: the JSON writer serves them.
std::string select_list(const mapping::catalog& catalog, const std::string& zone) {
  std::string list = render_field_sql(catalog.id, zone);
  for (const auto& f : catalog.fields)
    if (f.convert != mapping::conversion::constant) list += ",\n       " + render_field_sql(f, zone);
  return list;
}

// `last_updated` ($1, timestamptz text, widened by the overlap) in the
// updated_at column's own type, so the comparison can use an index on it.
std::string since_condition(const mapping::catalog& catalog, const std::string& zone,
                            std::chrono::seconds overlap) {
  const auto& updated = catalog.updated_at;
  std::string since = "$1::timestamptz";
  if (overlap.count() > 0)
    since = "(" + since + " - interval '" + std::to_string(overlap.count()) + " seconds')";
  switch (updated.source_type.oid) {
    case db::oid::timestamptz: return updated.source_sql + " >= " + since;
    // A date column only says which day: compare days so nothing changed
    // later on the same day is missed.
    case db::oid::date:
      return updated.source_sql + " >= (" + since + " AT TIME ZONE " + zone + ")::date";
    default: return updated.source_sql + " >= (" + since + " AT TIME ZONE " + zone + ")";
  }
}

}  // namespace

std::string render_field_sql(const mapping::resolved_field& f, const std::string& default_zone) {
  const std::string& value = f.source_sql;
  const std::string zone = f.zone.empty() ? default_zone : db::quote_literal(f.zone);
  // Converted in C++ from the text (coerce/), where a bad value costs a null, not the page.
  if (f.convert != mapping::conversion::none) return "(" + value + ")::text";
  switch (f.output) {
    case field_type::datetime: return iso_datetime(as_timestamptz(f, zone));
    case field_type::date:
      if (f.source_type.oid == db::oid::date) return "to_char(" + value + ", 'YYYY-MM-DD')";
      return "to_char(" + as_timestamptz(f, zone) + ", 'YYYY-MM-DD')";
    case field_type::number:
      // money's text has a currency sign and separators; numeric's does not.
      return f.source_type.oid == db::oid::money ? value + "::numeric" : value;
    case field_type::array:
    case field_type::json: return "to_json(" + value + ")";
    case field_type::string: return f.source_type.category == 'S' ? value : value + "::text";
    default: return value;
  }
}

customer_queries customer_queries::build(const mapping::catalog& catalog,
                                         std::chrono::seconds overlap) {
  const std::string zone = db::quote_literal(catalog.source.source_time_zone.value);
  const std::string& updated = catalog.updated_at.source_sql;
  const std::string& id = catalog.id.source_sql;
  const std::string from = "\n  FROM " + catalog.relation_sql + " AS " + catalog.alias_sql;
  const std::string order = "\n ORDER BY " + updated + ", " + id;
  const std::string keyset = ",\n       " + updated + "::text, " + id + "::text";
  const std::string records = "SELECT " + select_list(catalog, zone);
  const std::string filter = catalog.filter_sql.empty() ? "" : "\n   AND " + catalog.filter_sql;
  // A record without an id cannot be synced, and the keyset comparison
  // (updated_at, id) > (...) could never pass it: such rows are not listed,
  // and not counted either, so `count` matches what the pages deliver.
  const std::string listed = "\n   AND " + id + " IS NOT NULL" + filter;
  const std::string since = "\n WHERE " + since_condition(catalog, zone, overlap) + listed;

  customer_queries q;
  q.by_id = records + from + "\n WHERE " + id + " = $1" + filter;
  q.count_since = "SELECT count(*), max(" + updated + ")::text" + from + since;
  // OFFSET reads every row it skips. The skipping is done on the keys alone,
  // which an index on (updated_at, id) answers by itself (an index-only scan
  // reads no table row); then only the page's rows are fetched, through the
  // same index, and only they get their fields (subqueries over orders and
  // the like) computed.
  q.list_since = records + keyset + "\n  FROM (SELECT " + updated + " AS storygate_updated, " + id +
                 " AS storygate_id" + from + since + order + "\n LIMIT $2 OFFSET $3) AS storygate_page" +
                 "\n  JOIN " + catalog.relation_sql + " AS " + catalog.alias_sql + "\n    ON " + updated +
                 " = storygate_page.storygate_updated AND " + id + " = storygate_page.storygate_id" +
                 "\n ORDER BY storygate_page.storygate_updated, storygate_page.storygate_id";
  // The last row served matched last_updated, and so does every row after
  // it in (updated_at, id) order: the key alone bounds the index scan.
  q.list_after = records + keyset + from + "\n WHERE (" + updated + ", " + id + ") > ($1::" +
                 catalog.updated_at.source_type.name + ", $2::" + catalog.id.source_type.name + ")" +
                 listed + order + "\n LIMIT $3";
  q.count_changed = "SELECT count(*)" + from + "\n WHERE " + updated + " > $1::" +
                    catalog.updated_at.source_type.name + listed;
  return q;
}

}  // namespace storygate::sql
