// storygate init: a commented starter mapping for a table and the tables that
// reference it. Every guess is marked as one; columns it cannot place are left
// commented out for the DBA.
#include <pqxx/pqxx>

#include <iostream>
#include <set>

#include "app/startup.h"
#include "app/tools.h"
#include "db/pool.h"
#include "db/schema.h"
#include "mapping/catalog.h"
#include "mapping/name_guess.h"

namespace storygate::app {
namespace {

// A table that references the customer table.
struct child_table {
  std::string name;        // schema.table
  std::string key;         // its column pointing at the customer
  std::string parent_key;  // the customer column it points at
  std::vector<db::column_info> columns;
};

std::vector<child_table> children_of(pqxx::connection_base& c, const std::string& table) {
  pqxx::read_transaction tx(c);
  const auto rows = tx.exec_params(
      "SELECT n.nspname || '.' || cl.relname, a.attname, pa.attname, cl.oid"
      "  FROM pg_constraint k"
      "  JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace"
      "  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]"
      "  JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]"
      " WHERE k.contype = 'f' AND k.confrelid = to_regclass($1) AND array_length(k.conkey, 1) = 1"
      " ORDER BY 1",
      table);
  std::vector<child_table> children;
  for (const auto& row : rows) children.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str(), {}});
  tx.commit();
  for (auto& child : children) {
    db::schema_reader schema(c);
    if (auto relation = schema.find_relation(child.name)) child.columns = relation->columns;
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

void suggest_children(const child_table& child, const std::string& alias) {
  std::cout << "\n  # From " << child.name << " (" << child.key << " references " << child.parent_key
            << "): uncomment what fits.\n";
  const std::string match = "c." + child.key + " = " + alias + "." + child.parent_key;
  const db::column_info* amount = nullptr;
  const db::column_info* when = nullptr;
  for (const auto& col : child.columns) {
    if (col.name == child.key) continue;
    if (!amount && col.type.category == 'N' && col.type.name.find("int") == std::string::npos) amount = &col;
    if (!when && is_time(col.type)) when = &col;
  }
  if (amount || when)
    std::cout << "  # total_orders: { expression: \"(SELECT count(*) FROM " << child.name << " c WHERE " << match
              << ")\", type: integer }\n";
  if (amount)
    std::cout << "  # total_sales: { expression: \"(SELECT coalesce(sum(c." << amount->name << "), 0) FROM "
              << child.name << " c WHERE " << match << ")\", type: number }\n";
  if (when)
    std::cout << "  # date_last_order: { expression: \"(SELECT max(c." << when->name << ") FROM " << child.name
              << " c WHERE " << match << ")\", type: datetime }\n";
  for (const auto& col : child.columns)
    if (col.type.category == 'S' && col.name != child.key)
      std::cout << "  # categories: { children: { relation: " << child.name << ", key: " << child.key
                << ", value: " << col.name << " } }\n";
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
  const auto id = primary_key(*connection, relation->display_name).value_or(relation->columns.front().name);
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
            << "  relation: " << relation->display_name << "\n"
            << "  id: " << id << "   # the primary key\n";
  if (updated.empty())
    std::cout << "  updated_at: CHANGE_ME   # no column looks like a change time: name one, or an expression\n";
  else
    std::cout << "  updated_at: " << updated << "   # GUESS; index it: CREATE INDEX ON " << relation->display_name
              << " (" << updated << ", " << id << ");\n";
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
    std::cout << "  " << *guess << ": " << col.name << "   # " << col.type.name;
    if (*guess == "allow_sms" || *guess == "allow_email") {
      if (col.type.category == 'S') std::cout << "; text flags: add type: boolean";
    }
    std::cout << "\n";
  }
  for (const auto& child : children_of(*connection, relation->display_name)) suggest_children(child, alias);
  if (!unplaced.empty()) {
    std::cout << "\n  # Not placed: give each a DailyStory name, or leave it out (unmapped columns are never served).\n";
    for (const auto* col : unplaced) std::cout << "  # " << col->name << ": " << col->name << "   # " << col->type.name << "\n";
  }
  return 0;
}

}  // namespace storygate::app
