// storygate init: a commented starter mapping for a table and the tables that
// reference it. Every guess is marked as one; columns it cannot place are left
// commented out for the DBA.
#include <pqxx/pqxx>
#include <yaml-cpp/yaml.h>

#include <iostream>
#include <map>
#include <set>

#include "app/startup.h"
#include "app/tools.h"
#include "db/pool.h"
#include "db/schema.h"
#include "mapping/catalog.h"
#include "mapping/name_guess.h"

namespace storygate::app {
namespace {

// Legacy names ("Customer Master", "E-Mail", "order", "#notes") must reach
// the mapping as the names they are: quoted for YAML where YAML would read
// them otherwise, and for SQL where PostgreSQL would.

// `text` as a YAML scalar: plain when YAML reads it back as the same text,
// single-quoted otherwise. In a flow mapping ({ a: b }) a comma or a brace
// would also end a plain scalar.
std::string yaml_text(const std::string& text, bool in_flow = false) {
  YAML::Emitter plain;
  plain << text;
  if (plain.good() && plain.c_str() == text && (!in_flow || text.find_first_of(",[]{}") == std::string::npos))
    return text;
  YAML::Emitter quoted;
  quoted << YAML::SingleQuoted << text;
  return quoted.c_str();
}

// Each column of `relation` (SQL text) with PostgreSQL's quote_ident of it,
// for the SQL the suggestions hold: quoted only where PostgreSQL needs it.
std::map<std::string, std::string> sql_names_of(pqxx::connection_base& c, const std::string& relation) {
  pqxx::read_transaction tx(c);
  std::map<std::string, std::string> names;
  for (const auto& row : tx.exec_params("SELECT attname, quote_ident(attname) FROM pg_attribute"
                                        " WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
                                        relation))
    names[row[0].c_str()] = row[1].c_str();
  return names;
}

// A table that references the customer table.
struct child_table {
  std::string name;        // "schema"."table" as SQL text, quoted where needed
  std::string key;         // its column pointing at the customer
  std::string parent_key;  // the customer column it points at
  std::vector<db::column_info> columns;
  std::map<std::string, std::string> sql_names;  // column -> its SQL text
};

std::vector<child_table> children_of(pqxx::connection_base& c, const std::string& table) {
  pqxx::read_transaction tx(c);
  const auto rows = tx.exec_params(
      "SELECT quote_ident(n.nspname) || '.' || quote_ident(cl.relname), a.attname, pa.attname, cl.oid"
      "  FROM pg_constraint k"
      "  JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace"
      "  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]"
      "  JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]"
      " WHERE k.contype = 'f' AND k.confrelid = to_regclass($1) AND array_length(k.conkey, 1) = 1"
      " ORDER BY 1",
      table);
  std::vector<child_table> children;
  for (const auto& row : rows) children.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str(), {}, {}});
  tx.commit();
  for (auto& child : children) {
    db::schema_reader schema(c);
    if (auto relation = schema.find_relation(child.name)) child.columns = relation->columns;
    child.sql_names = sql_names_of(c, child.name);
  }
  return children;
}

std::optional<std::string> primary_key(pqxx::connection_base& c, const std::string& table) {
  pqxx::read_transaction tx(c);
  const auto rows = tx.exec_params(
      "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
      " WHERE i.indrelid = to_regclass($1) AND i.indisprimary AND i.indnatts = 1",
      table);
  if (rows.empty()) return std::nullopt;
  return std::string(rows[0][0].c_str());
}

bool is_time(const db::pg_type& t) { return t.category == 'D' && t.name.rfind("time ", 0) != 0; }

void suggest_children(const child_table& child, const std::string& alias,
                      const std::map<std::string, std::string>& parent_sql_names) {
  std::cout << "\n  # From " << child.name << " (" << child.key << " references " << child.parent_key
            << "): uncomment what fits.\n";
  const auto sql = [&](const std::map<std::string, std::string>& names, const std::string& column) {
    const auto found = names.find(column);
    return found == names.end() ? column : found->second;
  };
  const std::string match =
      "c." + sql(child.sql_names, child.key) + " = " + alias + "." + sql(parent_sql_names, child.parent_key);
  // SQL, always quoted: it holds what YAML reads as its own (: , # {) more often than not.
  const auto expression = [](const std::string& text) {
    YAML::Emitter quoted;
    quoted << YAML::SingleQuoted << text;
    return std::string(quoted.c_str());
  };
  const db::column_info* amount = nullptr;
  const db::column_info* when = nullptr;
  for (const auto& col : child.columns) {
    if (col.name == child.key) continue;
    if (!amount && col.type.category == 'N' && col.type.name.find("int") == std::string::npos) amount = &col;
    if (!when && is_time(col.type)) when = &col;
  }
  if (amount || when)
    std::cout << "  # total_orders: { expression: "
              << expression("(SELECT count(*) FROM " + child.name + " c WHERE " + match + ")") << ", type: integer }\n";
  if (amount)
    std::cout << "  # total_sales: { expression: "
              << expression("(SELECT coalesce(sum(c." + sql(child.sql_names, amount->name) + "), 0) FROM " +
                            child.name + " c WHERE " + match + ")")
              << ", type: number }\n";
  if (when)
    std::cout << "  # date_last_order: { expression: "
              << expression("(SELECT max(c." + sql(child.sql_names, when->name) + ") FROM " + child.name +
                            " c WHERE " + match + ")")
              << ", type: datetime }\n";
  for (const auto& col : child.columns)
    if (col.type.category == 'S' && col.name != child.key)
      std::cout << "  # categories: { children: { relation: " << yaml_text(child.name, true)
                << ", key: " << yaml_text(child.key, true) << ", value: " << yaml_text(col.name, true) << " } }\n";
}

}  // namespace

int run_init(const config::settings& settings) {
  const auto conninfo = connection_string(settings);
  const auto connection = connect(settings, conninfo);
  db::schema_reader schema(*connection);
  std::optional<db::relation_info> relation;
  try {
    relation = schema.find_relation(settings.init_table);
  } catch (const db::schema_error& e) {
    std::cerr << "storygate: '" << settings.init_table << "' is not a valid table name: " << e.what() << "\n";
    return 1;
  }
  if (!relation) {
    std::cerr << "storygate: table '" << settings.init_table << "' does not exist or this role cannot see it\n";
    return 1;
  }
  const std::string alias = "customer";
  const auto id = primary_key(*connection, relation->quoted_name).value_or(relation->columns.front().name);
  const auto sql_names = sql_names_of(*connection, relation->quoted_name);
  std::string updated;
  for (const auto& col : relation->columns)
    if (is_time(col.type) && mapping::looks_like_change_time(col.name)) {
      updated = col.name;
      break;
    }

  std::cout << "# storygate mapping for " << relation->display_name << ", written by `storygate init`.\n"
            << "# Every line is a guess from the column names and types: check each one, then run\n"
            << "#   storygate check --mapping THIS_FILE\n"
            << "# Columns it could not place are commented out at the end of `fields`.\n\n"
            << "version: 1\n"
            << "time_zone: America/Chicago   # GUESS: the zone your DailyStory account reports in\n\n"
            << "source:\n"
            << "  relation: " << yaml_text(relation->quoted_name) << "\n"
            << "  id: " << yaml_text(id) << "   # the primary key\n";
  if (updated.empty())
    std::cout << "  updated_at: CHANGE_ME   # no column looks like a change time: name one, or an expression\n";
  else
    std::cout << "  updated_at: " << yaml_text(updated) << "   # GUESS; index it: CREATE INDEX ON "
              << relation->quoted_name << " (" << sql_names.at(updated) << ", " << sql_names.at(id) << ");\n";
  std::cout << "  # time_zone: America/Chicago   # wall-clock zone of timestamp-without-time-zone columns\n\n"
            << "fields:\n";

  std::set<std::string> used;
  std::vector<const db::column_info*> unplaced;
  for (const auto& col : relation->columns) {
    if (col.name == id) continue;
    const auto guess = mapping::guess_field_name(col.name);
    if (!guess || used.count(*guess)) {
      if (col.name != updated) unplaced.push_back(&col);
      continue;
    }
    used.insert(*guess);
    std::cout << "  " << *guess << ": " << yaml_text(col.name) << "   # " << col.type.name;
    if (*guess == "allow_sms" || *guess == "allow_email") {
      if (col.type.category == 'S') std::cout << "; text flags: add type: boolean";
    }
    std::cout << "\n";
  }
  for (const auto& child : children_of(*connection, relation->quoted_name)) suggest_children(child, alias, sql_names);
  if (!unplaced.empty()) {
    std::cout << "\n  # Not placed: give each a DailyStory name, or leave it out (unmapped columns are never served).\n";
    for (const auto* col : unplaced) {
      // A name of its own, so that any of these lines can be uncommented.
      auto name = mapping::custom_field_name(col->name);
      for (int n = 2; used.count(name); ++n) name = mapping::custom_field_name(col->name) + "_" + std::to_string(n);
      used.insert(name);
      std::cout << "  # " << name << ": " << yaml_text(col->name) << "   # " << col->type.name << "\n";
    }
  }
  return 0;
}

}  // namespace storygate::app
