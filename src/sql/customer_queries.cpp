#include "sql/customer_queries.h"

#include <stdexcept>

#include "db/pg_types.h"
#include "time/zone_spread.h"

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

// Constants have no column: the JSON writer serves them. `as_bytes`: the
// fields read_as_bytes names come as the database's own bytes.
std::string select_list(const mapping::catalog& catalog, const std::string& zone, bool as_bytes) {
  std::string list = render_field_sql(catalog.id, zone);
  for (const auto& f : catalog.fields) {
    if (f.convert == mapping::conversion::constant) continue;
    const auto rendered = render_field_sql(f, zone);
    // convert_to into the database's own encoding converts nothing; hex
    // text, whatever the session's bytea_output.
    if (as_bytes && read_as_bytes(catalog, f))
      list += ",\n       encode(convert_to((" + rendered + ")::text, " + db::quote_literal(catalog.database_encoding) +
              "), 'hex')";
    else
      list += ",\n       " + rendered;
  }
  return list;
}

// How far a wall clock in `zone` can be from the instant it names, beyond
// the offset of the moment compared with. PostgreSQL checked the zone; should
// this machine's tz database not know it (another tzdata release), the widest
// range any zone has ever used keeps the comparison right, only less narrow.
std::chrono::seconds wall_clock_spread(const std::string& zone) {
  try {
    return time::offset_spread(zone);
  } catch (const std::runtime_error&) {
    return std::chrono::hours(48);
  }
}

// `expression` computed once per statement (an InitPlan). In a filter, a
// stable expression such as `$1::timestamptz AT TIME ZONE 'zone'` would be
// computed again for every row a sequential scan reads; an index condition
// uses the one value all the same.
std::string once(const std::string& expression) { return "(SELECT " + expression + ")"; }

// The rows whose served change time is at or after `last_updated` (the
// parameter `param`, timestamptz text), widened back by the overlap.
// Compared in the updated_at column's own type, so an index on it bounds the
// scan.
std::string since_condition(const mapping::catalog& catalog, const std::string& zone,
                            std::chrono::seconds overlap, const std::string& param) {
  const auto& updated = catalog.updated_at;
  std::string since = param + "::timestamptz";
  if (overlap.count() > 0)
    since = "(" + since + " - interval '" + std::to_string(overlap.count()) + " seconds')";
  switch (updated.source_type.oid) {
    case db::oid::timestamptz: return updated.source_sql + " >= " + once(since);
    // A date column only says which day: compare days so nothing changed
    // later on the same day is missed.
    case db::oid::date:
      return updated.source_sql + " >= " + once("(" + since + " AT TIME ZONE " + zone + ")::date");
    default: break;
  }
  // A wall-clock column is served as the instant it names in the source
  // zone, and wall-clock order is not instant order: 01:30 on the second
  // pass of the hour that repeats when clocks fall back is earlier than 01:44
  // on the wall, and the later instant. A wall clock and the instant it
  // names are apart by one of the zone's offsets, so only rows within the
  // zone's offset spread of last_updated's wall clock can go either way: the
  // index range is widened by the spread, and the instant is computed for
  // the rows of that band only (earlier ones are out, later ones in).
  const auto spread = wall_clock_spread(catalog.source.source_time_zone.value);
  const std::string wall = "(" + since + " AT TIME ZONE " + zone + ")";
  if (spread.count() == 0) return updated.source_sql + " >= " + once(wall);
  const std::string widen = " interval '" + std::to_string(spread.count()) + " seconds'";
  return updated.source_sql + " >= " + once(wall + " -" + widen) + "\n   AND (" + updated.source_sql +
         " >= " + once(wall + " +" + widen) + " OR " + as_timestamptz(updated, zone) + " >= " + once(since) + ")";
}

}  // namespace

bool text_is_converted(const mapping::catalog& catalog) {
  return catalog.database_encoding != "UTF8" && catalog.database_encoding != "SQL_ASCII";
}

bool read_as_bytes(const mapping::catalog& catalog, const mapping::resolved_field& f) {
  if (!text_is_converted(catalog) || f.convert == mapping::conversion::constant) return false;
  if (f.convert != mapping::conversion::none) return true;
  return f.output == field_type::string || f.output == field_type::array || f.output == field_type::json;
}

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
  const std::string records = "SELECT " + select_list(catalog, zone, false);
  const std::string records_as_bytes = "SELECT " + select_list(catalog, zone, true);
  const std::string filter = catalog.filter_sql.empty() ? "" : "\n   AND " + catalog.filter_sql;
  // A record without an id cannot be synced, and the keyset comparison
  // (updated_at, id) > (...) could never pass it: such rows are not listed,
  // and not counted either, so `count` matches what the pages deliver.
  const std::string listed = "\n   AND " + id + " IS NOT NULL" + filter;
  const auto since = [&](const std::string& param) {
    return since_condition(catalog, zone, overlap, param) + listed;
  };
  // The keys a list serves: each (updated_at, id) once. Rows that share both
  // are one customer at one change time to DailyStory, and a keyset walk
  // could not tell them apart: it would skip one or serve both at a page
  // break, so they are served (and counted) as one. A unique index on the id
  // settles it without the cost (a pass over every key counted or skipped).
  const std::string distinct = catalog.id_unique ? "" : "DISTINCT ";
  const auto keys = [&](const std::string& where) {
    return "SELECT " + distinct + updated + " AS storygate_updated, " + id + " AS storygate_id" + from +
           "\n WHERE " + where;
  };
  // A page of keys, then one row for each key, fetched through the same
  // index (filter included: another tenant's row can share the key), and
  // only those rows get their fields (subqueries over orders and the like)
  // computed. OFFSET reads every key it skips, and an index on
  // (updated_at, id) answers that by itself (an index-only scan).
  const auto page = [&](const std::string& where, const std::string& limit, const std::string& select) {
    return "SELECT storygate_row.*\n  FROM (" + keys(where) + order + "\n " + limit +
           ") AS storygate_page\n CROSS JOIN LATERAL (" + select + keyset + from + "\n WHERE " + updated +
           " = storygate_page.storygate_updated AND " + id + " = storygate_page.storygate_id" + filter +
           "\n LIMIT 1) AS storygate_row\n ORDER BY storygate_page.storygate_updated, storygate_page.storygate_id";
  };
  const std::string updated_type = catalog.updated_at.source_type.name;

  const std::string by_id = from + "\n WHERE " + id + " = $1" + filter;
  // Rows after the last one served in (updated_at, id) order, that still
  // match last_updated (wall-clock order is not instant order).
  const std::string after = "(" + updated + ", " + id + ") > ($1::" + updated_type + ", $2::" +
                            catalog.id.source_type.name + ")\n   AND " + since("$4");

  customer_queries q;
  q.by_id = records + by_id;
  q.count_since = "SELECT count(*), max(storygate_updated)::text\n  FROM (" + keys(since("$1")) + ") AS storygate_keys";
  q.list_since = page(since("$1"), "LIMIT $2 OFFSET $3", records);
  q.list_after = page(after, "LIMIT $3", records);
  q.by_id_as_bytes = records_as_bytes + by_id;
  q.list_since_as_bytes = page(since("$1"), "LIMIT $2 OFFSET $3", records_as_bytes);
  q.list_after_as_bytes = page(after, "LIMIT $3", records_as_bytes);
  q.count_changed = "SELECT count(*)\n  FROM (" + keys(updated + " > $1::" + updated_type + "\n   AND " + since("$2")) +
                    ") AS storygate_keys";
  return q;
}

std::string_view statement_name(statement s) {
  switch (s) {
    case statement::by_id: return "by_id";
    case statement::count_since: return "count_since";
    case statement::list_since: return "list_since";
    case statement::list_after: return "list_after";
    case statement::count_changed: return "count_changed";
    case statement::by_id_as_bytes: return "by_id_as_bytes";
    case statement::list_since_as_bytes: return "list_since_as_bytes";
    case statement::list_after_as_bytes: return "list_after_as_bytes";
  }
  return "unknown";  // not reached: every enumerator has its case (-Wswitch)
}

const std::string& customer_queries::sql(statement s) const {
  switch (s) {
    case statement::by_id: return by_id;
    case statement::count_since: return count_since;
    case statement::list_since: return list_since;
    case statement::list_after: return list_after;
    case statement::count_changed: return count_changed;
    case statement::by_id_as_bytes: return by_id_as_bytes;
    case statement::list_since_as_bytes: return list_since_as_bytes;
    case statement::list_after_as_bytes: return list_after_as_bytes;
  }
  return by_id;  // not reached: every enumerator has its case (-Wswitch)
}

}  // namespace storygate::sql
