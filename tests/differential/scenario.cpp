#include "scenario.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

namespace storygate::differential {
namespace {

using rng_t = std::mt19937_64;

template <typename T>
const T& pick(rng_t& rng, const std::vector<T>& from) {
  return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
}

bool chance(rng_t& rng, double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

int between(rng_t& rng, int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); }

std::string sql_text(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A YAML double-quoted scalar.
std::string yaml_text(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

using seconds = std::chrono::seconds;
using sys_seconds = date::sys_seconds;

std::string format_utc(sys_seconds t) { return date::format("%Y-%m-%d %H:%M:%S", t); }
std::string format_iso_z(sys_seconds t) { return date::format("%Y-%m-%dT%H:%M:%SZ", t); }

// The wall clock of instant `t` in `zone`.
std::string wall_of(sys_seconds t, const date::time_zone* zone) {
  return date::format("%Y-%m-%d %H:%M:%S", sys_seconds{(t + zone->get_info(t).offset).time_since_epoch()});
}

// Instants near the zone's clock changes of 2021 (none for UTC), and wall
// clocks inside the hour that repeats and the hour that is skipped.
struct change_times {
  std::vector<sys_seconds> instants;
  std::vector<std::string> odd_walls;  // repeated or skipped wall-clock times
};

change_times times_around_transitions(const std::string& zone_name) {
  using namespace date;
  change_times out;
  const auto* zone = locate_zone(zone_name);
  const sys_seconds from{sys_days{2021_y / January / 1}}, to{sys_days{2022_y / January / 1}};
  for (auto info = zone->get_info(from); info.end < to; info = zone->get_info(info.end)) {
    const sys_seconds at = info.end;
    const auto next = zone->get_info(at);
    for (int minutes : {-90, -30, 0, 1, 15, 30, 45, 90}) out.instants.push_back(at + std::chrono::minutes(minutes));
    out.instants.push_back(at - seconds(1));
    // The wall clocks between the old and the new offset's reading of `at`:
    // repeated when clocks go back, skipped when they go forward.
    const auto low = std::min(info.offset, next.offset), high = std::max(info.offset, next.offset);
    for (auto in = low + std::chrono::minutes(10); in < high; in += std::chrono::minutes(20))
      out.odd_walls.push_back(format_utc(sys_seconds{(at + in).time_since_epoch()}));
  }
  // Ordinary times: a summer noon, a new year, a far past.
  for (const auto& day : {sys_days{2021_y / June / 15}, sys_days{2020_y / January / 1}, sys_days{1999_y / December / 31}})
    out.instants.push_back(sys_seconds{day} + std::chrono::hours(12));
  return out;
}

// ISO 8601 with the offset `zone` has at `t`, to the minute.
std::string iso_in_zone(sys_seconds t, const std::string& zone) {
  const auto offset = date::locate_zone(zone)->get_info(t).offset;
  const long long minutes = std::chrono::duration_cast<std::chrono::minutes>(offset).count();
  char sign[48];
  std::snprintf(sign, sizeof sign, "%c%02lld:%02lld", minutes < 0 ? '-' : '+', std::llabs(minutes) / 60,
                std::llabs(minutes) % 60);
  return date::format("%Y-%m-%dT%H:%M:%S", sys_seconds{(t + offset).time_since_epoch()}) + sign;
}

// What a legacy column name may carry besides letters, blanks and digits: a
// double quote, and letters beyond ASCII that the database's encoding holds
// (PostgreSQL converts them from the tester's UTF-8 session).
std::vector<std::string> legacy_name_marks(const std::string& encoding) {
  if (encoding == "EUC_JP") return {"\"", "\u9867\u5BA2", "\u540D"};  // 顧客, 名
  if (encoding == "UTF8") return {"\"", "\u00E4", "Gr\u00F6\u00DFe", "\u9867\u5BA2", "\u00C9"};
  return {"\"", "\u00E4", "\u00DF", "\u00C9", "\u00F1"};  // LATIN1, WIN1252, SQL_ASCII
}

const std::vector<std::string> zones = {"America/Chicago", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu",
                                        "UTC"};

// ---------------------------------------------------------------- fields

struct field_builder {
  rng_t& rng;
  scenario& s;
  std::string alias_sql;
  int serial = 0;

  // Set for the seeds with legacy names: a draw of their own, and what may
  // be added to a name (see legacy_name_marks).
  rng_t* names_rng = nullptr;
  std::vector<std::string> name_marks = {};

  std::string column_name(const std::vector<std::string>& names) {
    std::string name = pick(rng, names) + (serial++ ? " " + std::to_string(serial) : "");
    if (names_rng && chance(*names_rng, 0.5)) name += pick(*names_rng, name_marks);
    return name;
  }
  void add_column(const std::string& name, const std::string& type, std::vector<std::string> pool) {
    s.columns.push_back({name, type, std::move(pool)});
  }
  field_spec& add(const std::string& name, const std::string& yaml, field_kind kind, const std::string& reference_sql) {
    field_spec f;
    f.name = name + "_" + std::to_string(s.fields.size());
    f.yaml = yaml;
    f.kind = kind;
    f.reference_sql = reference_sql;
    s.fields.push_back(f);
    return s.fields.back();
  }

  void text_column() {
    const auto c = column_name({"First Name", "fname", "Nachname", "order"});
    add_column(c, pick(rng, std::vector<std::string>{"text", "varchar(40)"}),
               {"'Ann'", "'Zoë'", "'O''Brien'", "'back\\slash'", "'\"quoted\"'", "NULL", "''", "'tab\there'"});
    add("name", yaml_text(c), field_kind::text, "r." + quoted(c) + "::text");
  }
  void number_column() {
    const bool numeric = chance(rng, 0.5);
    const auto c = column_name({"Points", "bal", "Loyalty Pts", "limit"});
    if (numeric)
      add_column(c, "numeric(12,2)", {"4118.01", "11.00", "-0.50", "0", "NULL", "99999999.99"});
    else
      add_column(c, "integer", {"0", "-5", "322", "2147483647", "NULL"});
    add("points", yaml_text(c), field_kind::number, "r." + quoted(c) + "::text");
  }
  void boolean_column() {
    const auto c = column_name({"Opt In", "allow_sms", "Active"});
    add_column(c, "boolean", {"true", "false", "NULL"});
    add("allow", yaml_text(c), field_kind::boolean, "r." + quoted(c) + "::text");
  }
  void integer_as_string() {
    const auto c = column_name({"Store", "home_store"});
    add_column(c, "integer", {"598", "-1", "0", "NULL"});
    add("store", "{ column: " + yaml_text(c) + ", type: string }", field_kind::text, "r." + quoted(c) + "::text");
  }
  void datetime_column(const change_times& times) {
    const bool tz = chance(rng, 0.5);
    const auto c = column_name({"Created At", "first_order", "When"});
    std::vector<std::string> pool{"NULL"};
    const auto* source = date::locate_zone(s.source_zone);
    for (int i = 0; i < 6; ++i) {
      const auto t = pick(rng, times.instants);
      pool.push_back(tz ? sql_text(format_utc(t) + "+00") : sql_text(wall_of(t, source)));
    }
    add_column(c, tz ? "timestamptz" : "timestamp", pool);
    const std::string instant = tz ? "r." + quoted(c) : "(r." + quoted(c) + " AT TIME ZONE " + sql_text(s.source_zone) + ")";
    add("created", yaml_text(c), field_kind::datetime, "extract(epoch from " + instant + ")::bigint::text");
  }
  // A date column served as a datetime: midnight in the source zone.
  void date_as_datetime() {
    const auto c = column_name({"Opened", "since_dt"});
    add_column(c, "date", {"'2021-03-14'", "'2021-11-07'", "'2021-04-04'", "NULL", "'2021-10-03'"});
    add("opened", "{ column: " + yaml_text(c) + ", type: datetime }", field_kind::datetime,
        "extract(epoch from (r." + quoted(c) + "::timestamp AT TIME ZONE " + sql_text(s.source_zone) +
            "))::bigint::text");
  }
  // Text date-times in a format, read in a zone of the field's own: each
  // raw value with the instant it names, served with the mapping zone's
  // offset (clear wall clocks only; the repeated and skipped hours of text
  // are left to PostgreSQL's rule, which the unit tests pin).
  void datetime_from_text() {
    const auto c = column_name({"Signed Up", "joined_txt"});
    const std::string field_zone = pick(rng, zones);
    const auto* from = date::locate_zone(field_zone);
    std::vector<std::string> pool{"NULL"};
    std::map<std::string, std::string> expected;
    for (const std::string raw : {"2021-06-15 12:30", "2020-01-01 00:00", "1999-12-31 23:59", "2021-13-01 00:00", "noon"}) {
      pool.push_back(sql_text(raw));
      int y = 0, m = 0, d = 0, hh = 0, mm = 0;
      if (std::sscanf(raw.c_str(), "%d-%d-%d %d:%d", &y, &m, &d, &hh, &mm) != 5 ||
          !date::year_month_day{date::year(y), date::month(static_cast<unsigned>(m)), date::day(static_cast<unsigned>(d))}.ok()) {
        expected[raw] = "null";
        continue;
      }
      const date::local_seconds local{
          date::local_days{date::year(y) / m / d}.time_since_epoch() + std::chrono::hours(hh) + std::chrono::minutes(mm)};
      const auto instant = from->to_sys(local);
      expected[raw] = "\"" + iso_in_zone(instant, s.zone) + "\"";
    }
    add_column(c, "text", pool);
    auto& f = add("signed_up",
                  "{ column: " + yaml_text(c) + ", type: datetime, format: \"%Y-%m-%d %H:%M\", time_zone: " +
                      field_zone + " }",
                  field_kind::dictionary, "r." + quoted(c) + "::text");
    f.expected = expected;
  }
  void date_column() {
    const auto c = column_name({"Birth Date", "dob"});
    add_column(c, "date", {"'1990-02-28'", "'2000-02-29'", "NULL", "'1969-12-31'"});
    add("birth", yaml_text(c), field_kind::date, "r." + quoted(c) + "::text");
  }
  void expression() {
    const auto c = column_name({"Score", "pts"});
    add_column(c, "integer", {"1", "20", "-3", "NULL"});
    add("score", "{ expression: " + yaml_text(alias_sql + "." + quoted(c) + " * 2 + 1") + ", type: integer }",
        field_kind::number, "(r." + quoted(c) + " * 2 + 1)::text");
  }
  void children(const std::string& id_type_sql, const std::vector<std::string>& ids) {
    const std::string child = "Cust Tag " + std::to_string(serial++);
    const std::string child_sql = quoted(s.schema) + "." + quoted(child);
    s.setup_sql += "CREATE TABLE " + child_sql + " (\"Cust Key\" " + id_type_sql + ", \"Tag\" text);\n";
    std::string values;
    const std::vector<std::string> tags{"'Beauty'", "'Health'", "'beauty'", "'Zoë'", "NULL", "'Health'"};
    for (int i = 0; i < 20; ++i)
      values += std::string(values.empty() ? "" : ", ") + "(" + pick(rng, ids) + ", " + pick(rng, tags) + ")";
    s.setup_sql += "INSERT INTO " + child_sql + " VALUES " + values + ";\n";
    auto& f = add("tags",
                  "{ children: { relation: " + yaml_text(child_sql) + ", key: \"Cust Key\", value: Tag } }",
                  field_kind::json,
                  "(SELECT COALESCE(json_agg(DISTINCT t.\"Tag\" ORDER BY t.\"Tag\"), '[]') FROM " + child_sql +
                      " t WHERE t.\"Cust Key\" = r." + quoted(s.id_column) + " AND t.\"Tag\" IS NOT NULL)::text");
    (void)f;
  }
  void constant() {
    const std::vector<std::pair<std::string, std::string>> constants{
        {"\"US\"", "\"US\""}, {"42", "42"}, {"true", "true"}, {"\"a \\\"b\\\"\"", "\"a \\\"b\\\"\""}};
    const auto& [yaml, json] = pick(rng, constants);
    auto& f = add("country", "{ constant: " + yaml + " }", field_kind::constant, "");
    f.constant_json = json;
  }
  // A clean-up of a text column: each raw value with what it becomes.
  void cleanup() {
    const auto c = column_name({"Email", "Phone", "Code"});
    const int which = between(rng, 0, 2);
    const std::vector<std::string> raws{"  Amanda@Example.COM ", "(555) 372-8048", "x", " ", "AbC 12 ", "ünï 3"};
    std::vector<std::string> pool{"NULL"};
    std::map<std::string, std::string> expected;
    for (const auto& raw : raws) {
      pool.push_back(sql_text(raw));
      std::string v = raw;
      if (which == 0) {  // trim: blanks at both ends
        const auto first = v.find_first_not_of(' '), last = v.find_last_not_of(' ');
        v = first == std::string::npos ? "" : v.substr(first, last - first + 1);
      } else if (which == 1) {  // lower: ASCII letters here (other letters fold by the database locale)
        for (auto& ch : v)
          if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      } else {  // digits only; none at all is NULL
        std::string digits;
        for (char ch : v)
          if (ch >= '0' && ch <= '9') digits += ch;
        v = digits;
      }
      expected[raw] = which == 2 && v.empty() ? "null" : json_string(v);
    }
    add_column(c, "text", pool);
    const std::string option = which == 0 ? "trim" : which == 1 ? "lower" : "digits_only";
    auto& f = add(option, "{ column: " + yaml_text(c) + ", " + option + ": true }", field_kind::dictionary,
                  "r." + quoted(c) + "::text");
    f.expected = expected;
    // What the clean-up leaves of each raw value is itself served: the
    // dictionary is keyed by the raw text.
  }
  // A conversion of text, with values that convert and values that do not.
  void conversion() {
    const auto c = column_name({"Flag", "Amount", "Qty", "Joined", "Interests"});
    struct table {
      std::string options;
      std::vector<std::pair<std::string, std::string>> values;  // raw -> JSON ("null": does not convert)
      std::vector<std::string> defaults;                        // YAML defaults it may declare ("" = none)
      std::vector<std::string> default_json;
    };
    const std::vector<table> tables{
        {"type: boolean",
         {{"Y", "true"}, {"n", "false"}, {" yes ", "true"}, {"OFF", "false"}, {"1", "true"}, {"0", "false"},
          {"TRUE", "true"}, {"X", "null"}, {"maybe", "null"}},
         {"", "false"},
         {"", "false"}},
        {"type: number",
         {{"1,234.50", "1234.50"}, {" 42 ", "42"}, {"-0.5", "-0.5"}, {".5", "0.5"}, {"007", "7"}, {"12,34", "null"},
          {"abc", "null"}, {"1e3", "null"}},
         {"", "0"},
         {"", "0"}},
        {"type: integer", {{"42", "42"}, {"42.00", "42"}, {"-7", "-7"}, {"4.5", "null"}, {"x", "null"}}, {"", "-1"}, {"", "-1"}},
        {"type: date, format: \"%m/%d/%Y\"",
         {{"07/04/1999", "\"1999-07-04\""}, {"12/31/2020", "\"2020-12-31\""}, {"13/45/1990", "null"}, {"soon", "null"}},
         {"", "\"unknown\""},
         {"", "\"unknown\""}},
        {"type: array, split: \";\"",
         {{"Beauty;Health", "[\"Beauty\",\"Health\"]"}, {" a ; ;b ", "[\"a\",\"b\"]"}, {"one", "[\"one\"]"}, {";", "[]"}},
         {"", "[]"},
         {"", "[]"}},
    };
    const auto& t = pick(rng, tables);
    std::vector<std::string> pool{"NULL"};
    std::map<std::string, std::string> expected;
    for (const auto& [raw, json] : t.values) {
      pool.push_back(sql_text(raw));
      expected[raw] = json;
    }
    add_column(c, "text", pool);
    const std::size_t d = static_cast<std::size_t>(between(rng, 0, static_cast<int>(t.defaults.size()) - 1));
    std::string yaml = "{ column: " + yaml_text(c) + ", " + t.options;
    if (!t.defaults[d].empty()) yaml += ", default: " + t.defaults[d];
    auto& f = add("converted", yaml + " }", field_kind::dictionary, "r." + quoted(c) + "::text");
    f.expected = expected;
    if (!t.default_json[d].empty()) f.default_json = t.default_json[d];
  }
};

// ---------------------------------------------------------------- ids

std::string id_literal(id_type type, int n) {
  char buffer[64];
  switch (type) {
    case id_type::integer: return std::to_string(n);
    case id_type::bigint: return std::to_string(9000000000000LL + n);
    case id_type::numeric: std::snprintf(buffer, sizeof buffer, "%d.%02d", 30000 + n, (n * 37) % 100); return buffer;
    case id_type::text: {
      // Each needs encoding in a URL path: blanks, '+', '%', '/', '?', '#', a tab.
      static const std::vector<std::string> shapes{"C-%04d", "Zoë %d", "a b+%d", "x%%%d", "Q'%d", "a/b?%d#", "t\t%d"};
      std::snprintf(buffer, sizeof buffer, shapes[static_cast<std::size_t>(n) % shapes.size()].c_str(), n);
      return sql_text(buffer);
    }
    case id_type::uuid:
      std::snprintf(buffer, sizeof buffer, "'%08x-0000-4000-8000-%012x'", static_cast<unsigned>(n * 2654435761u),
                    static_cast<unsigned>(n));
      return buffer;
  }
  return "NULL";
}

std::string id_sql_type(id_type type) {
  switch (type) {
    case id_type::integer: return "integer";
    case id_type::bigint: return "bigint";
    case id_type::numeric: return "numeric(12,2)";
    case id_type::text: return "text";
    case id_type::uuid: return "uuid";
  }
  return "text";
}

}  // namespace

std::string iso_in_zone(long long epoch, const std::string& zone) {
  return iso_in_zone(sys_seconds{seconds(epoch)}, zone);
}

std::string quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string scenario::later_change(int n) const {
  const std::string type = change == change_type::expression ? change_sql_type : columns[1].type;
  if (type == "date") return "('2030-01-01'::date + " + std::to_string(n) + ")";
  return "('2030-01-01 00:00:00'::" + type + " + interval '" + std::to_string(n) + " minutes')";
}

std::string scenario::fresh_id(int n) const { return id_literal(id, 100000 + n); }

std::string scenario::insert_row(std::mt19937_64& rng, const std::string& id_value, const std::string& change_literal,
                                 const std::string& tenant) const {
  std::string names, values;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    names += (i ? ", " : "") + quoted(columns[i].name);
    std::string v = i == 0                                                   ? id_value
                    : i == 1                                                 ? change_literal
                    : !tenant.empty() && columns[i].name == tenant_column ? tenant
                                                                             : pick(rng, columns[i].pool);
    values += (i ? ", " : "") + v;
  }
  return "INSERT INTO " + relation_sql + " (" + names + ") VALUES (" + values + ");\n";
}

std::vector<std::string> scenario::server_options() const {
  std::vector<std::string> options{"--sync-overlap-seconds", std::to_string(overlap_seconds)};
  if (offset_only) options.insert(options.end(), {"--sync-cursor-limit", "0"});
  if (pgbouncer_mode) options.push_back("--pgbouncer");
  return options;
}

std::string scenario::describe() const {
  std::ostringstream out;
  out << "seed " << seed << " (rerun: STORYGATE_DIFFERENTIAL_SEEDS=" << seed << ")\n-- database encoding "
      << encoding << "\n-- schema and data\n"
      << setup_sql << "-- mapping\n"
      << mapping_yaml << "-- served with";
  for (const auto& option : server_options()) out << " " << option;
  out << "\n";
  return out.str();
}

scenario generate(uint64_t seed) {
  rng_t rng(seed);
  scenario s;
  s.seed = seed;
  // Drawn apart, so that adding them changed no other draw of a seed: the
  // database's encoding, and for two seeds in five names as a legacy schema
  // may have them (the schema, the table, the id, change and field columns,
  // each with even odds).
  rng_t encoding_rng(seed ^ 0x656e636f64696e67ULL);
  s.encoding = pick(encoding_rng, std::vector<std::string>{"UTF8", "UTF8", "UTF8", "LATIN1", "WIN1252", "EUC_JP",
                                                           "SQL_ASCII"});
  rng_t names_rng(seed ^ 0x6c6567616379ULL);
  const auto name_marks = chance(names_rng, 0.4) ? legacy_name_marks(s.encoding) : std::vector<std::string>{};
  const auto legacy = [&](std::string name) {
    if (!name_marks.empty() && chance(names_rng, 0.5)) name += pick(names_rng, name_marks);
    return name;
  };
  s.schema = legacy(pick(rng, std::vector<std::string>{"legacy", "Legacy Data", "select", "crm"}));
  s.table = legacy(pick(rng, std::vector<std::string>{"cust", "Customer Master", "order", "CustTbl"}));
  s.relation_sql = quoted(s.schema) + "." + quoted(s.table);
  s.alias = pick(rng, std::vector<std::string>{"customer", "c", "Row"});
  const std::string alias_sql = quoted(s.alias);
  s.id = static_cast<id_type>(between(rng, 0, 4));
  s.id_column = legacy(pick(rng, std::vector<std::string>{"cust_no", "CustNo", "Cust No", "user"}));
  s.change = static_cast<change_type>(between(rng, 0, 3));
  s.change_column = legacy(pick(rng, std::vector<std::string>{"chg", "LastChg", "last changed", "when"}));
  s.source_zone = pick(rng, zones);
  s.zone = chance(rng, 0.7) ? s.source_zone : pick(rng, zones);
  s.filtered = chance(rng, 0.6);
  // Sometimes ids are unique, with a unique index that says so (storygate
  // then lists without a DISTINCT pass).
  const bool unique_ids = !s.filtered && chance(rng, 0.4);
  s.overlap_seconds = pick(rng, std::vector<int>{0, 0, 60, 3600});
  s.offset_only = chance(rng, 0.2);
  s.pgbouncer_mode = chance(rng, 0.25);

  // The change-time column(s) and their pool: instants near the zone's clock
  // changes, as wall clocks, instants or days.
  const auto times = times_around_transitions(s.source_zone);
  const auto* source = date::locate_zone(s.source_zone);
  const std::string base_type = s.change == change_type::timestamptz ? "timestamptz"
                                : s.change == change_type::date      ? "date"
                                : s.change == change_type::expression
                                    ? pick(rng, std::vector<std::string>{"timestamp", "timestamptz"})
                                    : "timestamp";
  s.change_sql_type = base_type;
  std::vector<std::string> change_pool;
  const int distinct = between(rng, 4, 14);  // few distinct times: many rows share one
  for (int i = 0; i < distinct; ++i) {
    const auto t = pick(rng, times.instants);
    if (base_type == "timestamptz")
      change_pool.push_back(sql_text(format_utc(t) + "+00"));
    else if (base_type == "date")
      change_pool.push_back(sql_text(wall_of(t, source).substr(0, 10)));
    else if (!times.odd_walls.empty() && chance(rng, 0.3))
      change_pool.push_back(sql_text(pick(rng, times.odd_walls)));
    else
      change_pool.push_back(sql_text(wall_of(t, source)));
  }
  std::sort(change_pool.begin(), change_pool.end());
  change_pool.erase(std::unique(change_pool.begin(), change_pool.end()), change_pool.end());

  s.columns.push_back({s.id_column, id_sql_type(s.id), {}});
  s.columns.push_back({s.change_column, base_type, change_pool});
  std::string change_yaml = yaml_text(s.change_column);
  s.change_sql = "r." + quoted(s.change_column);
  if (s.change == change_type::expression) {
    // A second column, mostly NULL: the later of the two is the change time.
    const std::string second = "Note Changed";
    std::vector<std::string> pool(4, "NULL");
    pool.insert(pool.end(), change_pool.begin(), change_pool.end());
    s.columns.push_back({second, base_type, pool});
    change_yaml = "{ expression: " +
                  yaml_text("GREATEST(" + alias_sql + "." + quoted(s.change_column) + ", " + alias_sql + "." +
                            quoted(second) + ")") +
                  " }";
    s.change_sql = "GREATEST(r." + quoted(s.change_column) + ", r." + quoted(second) + ")";
  }
  const std::string tenant_column = pick(rng, std::vector<std::string>{"tenant", "Company"});
  if (s.filtered) {
    s.tenant_column = tenant_column;
    s.columns.push_back({tenant_column, "integer", {"1", "1", "2", "3"}});
    s.filter_sql = "r." + quoted(tenant_column) + " = 1";
  }

  s.setup_sql = "CREATE SCHEMA " + quoted(s.schema) + ";\n";
  // The rows' ids, drawn before the fields, so children can point at them.
  const int rows = between(rng, 15, 90);
  std::vector<std::string> ids;
  for (int n = 1; n <= rows; ++n) ids.push_back(id_literal(s.id, n));
  for (int n = 1; n <= 3; ++n) s.absent_ids.push_back(id_literal(s.id, 50000 + n));

  field_builder fields{rng, s, alias_sql};
  if (!name_marks.empty()) {
    fields.names_rng = &names_rng;
    fields.name_marks = name_marks;
  }
  std::string table_sql;  // written once the field columns are known
  const int field_count = between(rng, 2, 8);
  for (int i = 0; i < field_count; ++i) {
    switch (between(rng, 0, 12)) {
      case 0: fields.text_column(); break;
      case 1: fields.number_column(); break;
      case 2: fields.boolean_column(); break;
      case 3: fields.integer_as_string(); break;
      case 4: fields.datetime_column(times); break;
      case 5: fields.date_column(); break;
      case 6: fields.expression(); break;
      case 7: fields.children(id_sql_type(s.id), ids); break;
      case 8: fields.constant(); break;
      case 9: fields.cleanup(); break;
      case 10: fields.date_as_datetime(); break;
      case 11: fields.datetime_from_text(); break;
      default: fields.conversion(); break;
    }
  }

  std::string columns_sql;
  for (const auto& c : s.columns) columns_sql += (columns_sql.empty() ? "" : ", ") + quoted(c.name) + " " + c.type;
  s.setup_sql += "CREATE TABLE " + s.relation_sql + " (" + columns_sql + ");\n";
  if (unique_ids) s.setup_sql += "CREATE UNIQUE INDEX ON " + s.relation_sql + " (" + quoted(s.id_column) + ");\n";
  if (chance(rng, 0.7)) {
    const std::string indexed = s.change == change_type::expression
                                    ? "(GREATEST(" + quoted(s.change_column) + ", \"Note Changed\"))"
                                    : quoted(s.change_column);
    s.setup_sql += "CREATE INDEX ON " + s.relation_sql + " (" + indexed + ", " + quoted(s.id_column) + ");\n";
  }

  // Rows: mostly distinct ids; some without id or change time; some sharing
  // an id (and sometimes the change time too) with an earlier row; under a
  // filter, copies of served rows in other tenants with the same id and
  // change time (a multi-company table's ids are unique per company only).
  std::vector<std::pair<std::string, std::string>> written;  // id, change
  for (int n = 0; n < rows; ++n) {
    std::string id = ids[static_cast<std::size_t>(n)];
    std::string change = pick(rng, change_pool);
    if (chance(rng, 0.04)) id = "NULL";
    if (chance(rng, 0.05)) change = "NULL";
    if (!unique_ids && !written.empty() && chance(rng, 0.08)) {
      const auto& earlier = pick(rng, written);
      id = earlier.first;
      if (chance(rng, 0.5)) change = earlier.second;
    }
    const std::string tenant = !s.filtered ? "" : chance(rng, 0.6) ? "1" : std::to_string(between(rng, 2, 3));
    std::string row = s.insert_row(rng, id, change, tenant);
    if (tenant == "1" && chance(rng, 0.25)) row += s.insert_row(rng, id, change, "2");
    s.setup_sql += row;
    written.emplace_back(id, change);
  }
  s.setup_sql += "ANALYZE " + s.relation_sql + ";\n";
  // Sometimes a view of the table is served: no index of its own.
  s.served_sql = s.relation_sql;
  if (chance(rng, 0.2)) {
    s.served_sql = quoted(s.schema) + "." + quoted(s.table + " View");
    s.setup_sql += "CREATE VIEW " + s.served_sql + " AS SELECT * FROM " + s.relation_sql + ";\n";
  }

  // The mapping, as a DBA would write it, every name quoted where it must be.
  std::ostringstream yaml;
  yaml << "time_zone: " << s.zone << "\n"
       << "source:\n"
       << "  relation: " << yaml_text(s.served_sql) << "\n"
       << "  alias: " << yaml_text(s.alias) << "\n"
       << "  id: " << yaml_text(s.id_column) << "\n"
       << "  updated_at: " << change_yaml << "\n"
       << "  time_zone: " << s.source_zone << "\n";
  if (s.filtered) yaml << "  filter: " << yaml_text(alias_sql + "." + quoted(tenant_column) + " = 1") << "\n";
  yaml << "fields:\n";
  for (const auto& f : s.fields) yaml << "  " << f.name << ": " << f.yaml << "\n";
  s.mapping_yaml = yaml.str();

  // last_updated values: the data's own change times (ties), a second
  // either side, the clock changes, and wall clocks without an offset (read
  // in the mapping's zone) in its repeated and skipped hours.
  const auto* zone = date::locate_zone(s.zone);
  const auto zone_times = times_around_transitions(s.zone);
  for (int i = 0; i < 10; ++i) {
    const auto t = pick(rng, times.instants) + seconds(pick(rng, std::vector<int>{-1, 0, 0, 1}));
    s.since_values.push_back(format_iso_z(t));
  }
  for (int i = 0; i < 4; ++i) {
    const auto wall = wall_of(pick(rng, zone_times.instants), zone);
    s.since_values.push_back(wall.substr(0, 10) + "T" + wall.substr(11));
  }
  for (int i = 0; i < 3 && !zone_times.odd_walls.empty(); ++i) {
    const auto wall = pick(rng, zone_times.odd_walls);
    s.since_values.push_back(wall.substr(0, 10) + "T" + wall.substr(11));
  }
  s.since_values.push_back(wall_of(pick(rng, times.instants), zone).substr(0, 10));  // a bare date
  for (int i = 0; i < 3; ++i)  // with the mapping zone's own offset then (+05:45, -06:00, ...)
    s.since_values.push_back(iso_in_zone(pick(rng, zone_times.instants), s.zone));
  return s;
}

}  // namespace storygate::differential
