#pragma once
// A random legacy schema, its data and a mapping for it, all drawn from one
// seed: the same seed gives the same scenario, byte for byte, so a failure
// becomes a regression case by keeping its seed.
//
// The scenario also carries what the reference (reference.h) needs to
// compute every answer with its own SQL: the names, the change-time column's
// form, the filter, and for each field how its JSON follows from the value
// PostgreSQL holds. None of it comes from storygate's query builder.
//
// Plain data; build one per test, not shared between threads.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace storygate::differential {

enum class id_type { integer, bigint, numeric, text, uuid };
enum class change_type { timestamp, timestamptz, date, expression };

// How a field's JSON follows from the raw text the reference selects.
enum class field_kind {
  number,        // integer, numeric, or an integer expression: the text is the JSON number
  text,          // the text as a JSON string
  boolean,       // t/f
  datetime,      // epoch seconds of the instant, served with the mapping zone's offset
  date,          // YYYY-MM-DD as a string
  json,          // the reference selects JSON text itself (children)
  constant,      // no column: `constant_json`
  dictionary,    // a clean-up or conversion: `expected` maps each raw text to its JSON
};

struct field_spec {
  std::string name;           // DailyStory's name
  std::string yaml;           // the mapping's value for it, flow style
  field_kind kind = field_kind::text;
  std::string reference_sql;  // the reference's own SQL for the raw value, over alias r, as text
  std::map<std::string, std::string> expected;  // dictionary: raw text -> JSON ("null": does not convert)
  std::optional<std::string> default_json;      // served instead of null
  std::string constant_json;
};

// A source column and the SQL literals its rows draw from.
struct column_spec {
  std::string name;  // raw, unquoted
  std::string type;  // SQL type
  std::vector<std::string> pool;
};

struct scenario {
  uint64_t seed = 0;
  std::string schema, table;  // raw names
  std::string relation_sql;   // "schema"."table"
  std::string served_sql;     // what the mapping names: the table, or a view of it
  std::string alias;          // the mapping's alias for the source row, raw
  id_type id = id_type::integer;
  std::string id_column;      // raw
  change_type change = change_type::timestamp;
  std::string change_sql;     // the change time over alias r: r."col" or GREATEST(r."a", r."b")
  std::string change_sql_type;  // timestamp, timestamptz or date (the expression's type)
  std::string source_zone, zone;
  // The database's encoding: mostly UTF8, else a legacy one (LATIN1, WIN1252,
  // EUC_JP, SQL_ASCII) that PostgreSQL converts to storygate's UTF8.
  std::string encoding = "UTF8";
  bool filtered = false;
  std::string filter_sql;     // over alias r, when filtered
  int overlap_seconds = 0;
  // How storygate is run: every page by OFFSET (no sync cursors), and
  // statements unprepared in one transaction each (as behind pgbouncer).
  bool offset_only = false;
  bool pgbouncer_mode = false;
  std::vector<std::string> server_options() const;
  std::vector<field_spec> fields;
  std::string setup_sql;      // schema, tables, rows, indexes
  std::string mapping_yaml;
  // Values of last_updated worth asking for: ties with the data, DST
  // transitions, wall-clock times in the repeated and skipped hours.
  std::vector<std::string> since_values;
  // SQL literals for ids no row has.
  std::vector<std::string> absent_ids;

  // A change time later than all others, the n-th such (for the writer).
  std::string later_change(int n) const;
  // A new id no row has, the n-th such, as an SQL literal.
  std::string fresh_id(int n) const;
  // The SQL that inserts one row with `id_literal`, `change_literal` and (when
  // not empty) `tenant`, the other columns drawn from `rng`.
  std::string insert_row(std::mt19937_64& rng, const std::string& id_literal, const std::string& change_literal,
                         const std::string& tenant = "") const;
  // How it is described on failure: seed, schema, mapping.
  std::string describe() const;

  std::vector<column_spec> columns;  // every column of the source table, id and change time included
  std::string change_column;         // raw: the (first) change-time column
  std::string tenant_column;         // raw, when filtered
};

// The scenario of `seed`.
scenario generate(uint64_t seed);

// ISO 8601 with the offset `zone` has at `epoch`, to the minute, as storygate
// serves a datetime.
std::string iso_in_zone(long long epoch, const std::string& zone);

// An SQL identifier, always quoted.
std::string quoted(const std::string& name);

}  // namespace storygate::differential
